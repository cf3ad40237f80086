"""tools/analysis_tools/trade_curve.py (issue #31): the points of the
memory/time trade of the full-gradient step, and the page's trade section
rendered from kept results."""
import json
import os.path as osp
import sys

import pytest

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, osp.join(REPO, 'tools', 'analysis_tools'))


def _point(keep, peak, step):
    return dict(keep=keep, peak_train_mb=peak, step_s=step, status='ok')


def _result(times=(2.0, 1.6, 1.2)):
    return dict(config='configs/det/fcos_patchgd_ultradigits_full.py',
                size=1024, batch_size=2, chunks=2,
                points=[_point(k, 100.0 + 150 * k, t)
                        for k, t in enumerate(times)],
                full=dict(peak_train_mb=390.0, step_s=1.25, status='ok'),
                sampled=dict(peak_train_mb=120.0, step_s=3.0, status='ok'))


def test_default_points_and_chunks():
    from trade_curve import default_keeps, monotone, num_chunks
    assert default_keeps(3) == [0, 1, 2, 3]
    assert default_keeps(16) == [0, 3, 6, 10, 13, 16]
    # 32 cells of a batch of 2 (16 each) in fill chunks of 12: 3 chunks
    assert num_chunks(dict(k=16, batch_size=2, fill_chunk=12)) == 3
    assert monotone(_result()['points'])
    assert not monotone(_result((2.0, 2.2, 1.2))['points'])


def test_table_rows_and_ratios():
    from trade_curve import table
    text = table(_result())
    assert '| ours, full gradient | 2 of 2 | 400.0 | 1.20 | 0.96× |' in text
    assert '| full image (stock) | — | 390.0 | 1.25 | 1.00× |' in text
    assert '| ours, sampled step | — | 120.0 | 3.00 | 2.40× |' in text


def test_trade_section_rendered_from_kept_results(tmp_path):
    import importlib
    bm = importlib.import_module('benchmarks')
    from benchmarks.common import Context
    ctx = Context(work=str(tmp_path / 'work'), images=str(tmp_path),
                  page=str(tmp_path / 'page.md'))
    assert 'Not run yet' in bm.trade.render(ctx)['trade']
    kept = tmp_path / 'work' / 'trade'
    kept.mkdir(parents=True)
    (kept / 'ultradigits_det.json').write_text(json.dumps(
        dict(_result(), monotone=True)))
    text = bm.trade.render(ctx)['trade']
    assert ('every chunk kept: 1.20 s at 400 MiB against the full image\'s '
            '1.25 s at 390 MiB (0.96×, meets the ≤ 1.1× goal)') in text
    assert 'none kept (the tightest step): 2.00 s at 100 MiB' in text
    assert 'trade_curve.py configs/det/fcos_patchgd_ultradigits_full.py' \
        in text


def test_a_real_curve_keeps_what_it_was_told(tmp_path):
    """The classifier at 256 px (4 cells, one fill chunk of 8): the point
    with its one chunk kept holds that chunk's graph (a higher peak) and
    runs θ1 once per cell."""
    from trade_curve import main
    res = main(['configs/cls/resnet_patchgd_ultradigits_full.py', '--size',
                '256', '--steps', '1', '--keep', '0', '1', '--json',
                str(tmp_path / 'cls.json')])
    none, every = res['points']
    assert (none['keep'], every['keep'], res['chunks']) == (0, 1, 1)
    assert (none['kept_chunks'], every['kept_chunks']) == (0, 1)
    assert every['peak_train_mb'] > none['peak_train_mb']
    assert res['full']['status'] == 'ok' and res['sampled'] is None
    # at 256 px the stock classifier's peak is below ours' tightest step:
    # the planner, given it as the budget, says so
    assert res['planned']['status'] != 'ok'
    assert 'BudgetError' in res['planned']['detail']
    assert json.loads((tmp_path / 'cls.json').read_text())['chunks'] == 1


def test_a_missed_goal_names_the_phases(tmp_path):
    import importlib
    bm = importlib.import_module('benchmarks')
    from benchmarks.common import Context
    ctx = Context(work=str(tmp_path / 'work'), images=str(tmp_path),
                  page=str(tmp_path / 'page.md'))
    res = _result((2.0, 1.8, 1.6))
    res['points'][-1]['breakdown'] = {'train': {'s': {
        'fill': 0.6, 'chunk_backward': 0.7, 'head_loss': 0.3}}}
    res['full']['breakdown'] = {'train': {'s': {'forward_loss': 0.5,
                                                'backward': 0.75}}}
    (tmp_path / 'work' / 'trade').mkdir(parents=True)
    (tmp_path / 'work' / 'trade' / 'ultradigits_det.json').write_text(
        json.dumps(dict(res, monotone=True)))
    text = bm.trade.render(ctx)['trade']
    assert '(1.28×, misses the ≤ 1.1× goal); its phases chunk_backward ' \
        "0.70 s, fill 0.60 s, head_loss 0.30 s; the full image's backward " \
        '0.75 s, forward_loss 0.50 s' in text


def test_the_goal_is_read_at_the_planned_step(tmp_path):
    """With a step planned at the full image's peak, the ≤ 1.1× verdict is
    that step's (the planner's choice: every chunk, no checkpointing)."""
    import importlib
    bm = importlib.import_module('benchmarks')
    from benchmarks.common import Context
    from trade_curve import table
    ctx = Context(work=str(tmp_path / 'work'), images=str(tmp_path),
                  page=str(tmp_path / 'page.md'))
    res = _result((2.0, 1.6, 1.5))
    res['planned'] = dict(peak_train_mb=385.0, step_s=1.3, status='ok',
                          plan=dict(budget_mb=390.0, keep_chunks=2,
                                    checkpoint=False))
    assert ('| ours, planned at 390 MiB | 2 of 2, no checkpointing | 385.0 '
            '| 1.30 | 1.04× |') in table(res)
    (tmp_path / 'work' / 'trade').mkdir(parents=True)
    (tmp_path / 'work' / 'trade' / 'ultradigits_det.json').write_text(
        json.dumps(dict(res, monotone=True)))
    text = bm.trade.render(ctx)['trade']
    assert ("planned with the full image's peak as its budget (390 MiB; "
            'chunks kept: 2 of 2, no checkpointing): 1.30 s at 385 MiB '
            '(1.04×, meets the ≤ 1.1× goal)') in text
    assert "every chunk kept: 1.50 s at 400 MiB against the full image's " \
        '1.25 s at 390 MiB;' in text


def test_planned_record_says_how_much_checkpointing_it_kept():
    """A plan that keeps part of the checkpointing says how much, and the
    measured peak without any that did not fit."""
    from trade_curve import planned_kept
    rec = dict(plan=dict(keep_chunks=2, checkpoint=5, checkpointed_modules=16,
                         uncheckpointed_peak_mb=1612.4))
    assert planned_kept(rec, 2) == ('2 of 2, checkpointing 5 of 16 modules; '
                                    'without checkpointing 1612 MiB')
    rec['plan'].update(checkpoint=None)
    assert planned_kept(rec, 2) == '2 of 2; without checkpointing 1612 MiB'
    assert planned_kept(dict(plan=dict(keep_chunks=1)), 3) == '1 of 3'


def test_paired_step_times_both_sides_in_turn(tmp_path, monkeypatch):
    """paired_step.py: this checkout and the other commit alternate, the
    ratios' median is the verdict, and the worktree is gone afterwards."""
    import subprocess

    import paired_step
    calls = []

    def fake(tree, args):
        calls.append('head' if tree == paired_step.ROOT else 'against')
        return 1.0 + 0.1 * len(calls) if calls[-1] == 'head' else 2.0

    monkeypatch.setattr(paired_step, 'step_seconds', fake)
    out = tmp_path / 'paired.json'
    res = paired_step.main(['some_config.py', '--against', 'HEAD', '--size',
                            '64', '--rounds', '3', '--json', str(out)])
    assert calls == ['head', 'against'] * 3
    assert res['median_ratio'] == pytest.approx(1.3 / 2.0)
    assert (res['min_ratio'], res['max_ratio']) == (0.55, 0.75)
    assert json.loads(out.read_text())['rounds'][0] == dict(head=1.1,
                                                            against=2.0)
    trees = subprocess.run(['git', 'worktree', 'list'], cwd=REPO, text=True,
                           capture_output=True).stdout
    assert 'paired_step_' not in trees


def test_trade_section_reads_the_paired_tightest_step(tmp_path):
    """The tightest step's paired ratio is on the page, against the 5 %
    bound."""
    import importlib
    bm = importlib.import_module('benchmarks')
    from benchmarks.common import Context
    ctx = Context(work=str(tmp_path / 'work'), images=str(tmp_path),
                  page=str(tmp_path / 'page.md'))
    (tmp_path / 'work' / 'trade' / 'tightest').mkdir(parents=True)
    (tmp_path / 'work' / 'trade' / 'ultradigits_det.json').write_text(
        json.dumps(dict(_result(), monotone=True)))
    for model, ratio in (('ultradigits_det', 1.04),):
        (tmp_path / 'work' / 'trade' / 'tightest' / f'{model}.json'
         ).write_text(json.dumps(dict(
             command='python tools/analysis_tools/paired_step.py X',
             against='24741eda69', rounds=[{}] * 8, median_ratio=ratio,
             min_ratio=0.95, max_ratio=1.1, head_s=1.56, against_s=1.5)))
    text = bm.trade.render(ctx)['trade']
    assert ('the tightest step against the code before issue #31 (24741ed), '
            'paired over 8 rounds: 1.040× (rounds 0.950-1.100×; 1.56 against '
            '1.50 s), within the 5 % bound') in text


def test_a_curve_that_rises_says_where_and_by_how_much(tmp_path):
    """Not monotone: the page names each rise and the widest spread of one
    point's own timed steps."""
    from benchmarks.trade import _monotone
    from trade_curve import rises, spread
    pts = _result((2.0, 2.1, 1.2))['points']
    for p, times in zip(pts, ([1.9, 2.0, 2.2], [2.0, 2.1, 2.1], [1.2, 1.2])):
        p['step_times_s'] = times
    assert [(a, b, round(r, 3)) for a, b, r in rises(pts)] == [(0, 1, 0.05)]
    assert spread(pts) == pytest.approx(0.15)
    assert _monotone(pts) == (
        'the time does not fall monotonically as chunks are kept: 0 to 1 '
        "kept +5.0 % (one point's own timed steps spread by up to 15 %)")
    assert _monotone(_result()['points']) == ('time falls monotonically as '
                                             'chunks are kept')
