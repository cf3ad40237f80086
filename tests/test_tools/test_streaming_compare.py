"""tools/analysis_tools/streaming_compare.py (issue #31): StreamingCNN
(lightstream) beside the full image and ours. What its streaming row
computes: the full-image CNN's gradient, exactly (BatchNorm frozen)."""
import os.path as osp
import sys

import pytest
import torch

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, osp.join(REPO, 'tools', 'analysis_tools'))

pytest.importorskip('lightstream', reason='requirements/benchmarks.txt')


def _grads(method, size, tile):
    from streaming_compare import _plain
    torch.manual_seed(0)
    model, step = _plain(dict(backbone='narrow', size=size, method=method,
                              tile=tile))
    step()
    return {n: p.grad.clone() for n, p in model.named_parameters()
            if p.grad is not None}


def test_streaming_row_has_the_full_image_gradient():
    """A 1536 px image over 1152 px tiles (two tiles a side): the streamed
    step's parameter gradients equal the full-image step's."""
    torch.set_num_threads(2)
    full = _grads('full', 1536, 1152)
    streamed = _grads('streaming', 1536, 1152)
    assert full.keys() == streamed.keys() and len(full) > 10
    for name, grad in full.items():
        torch.testing.assert_close(streamed[name], grad, rtol=1e-3,
                                   atol=1e-5, msg=lambda m: f'{name}: {m}')


def test_rows_run_in_their_own_processes(tmp_path):
    from streaming_compare import main, table
    records = main(['--sizes', '256', '512', '--backbones', 'narrow',
                    '--methods', 'full', 'ours', '--max-size', 'narrow=256',
                    '--json', str(tmp_path / 'out.json')])
    assert [r['status'] for r in records] == ['ok', 'ok', 'skipped',
                                              'skipped']
    assert all(r['peak_train_mb'] > 0 and r['step_s'] > 0
               for r in records[:2])
    assert records[2]['detail'] == '--max-size narrow=256'
    assert '| narrow | 256² | ours |' in table(records)


def test_streaming_section_reads_ahead_and_behind(tmp_path):
    import importlib
    import json
    bm = importlib.import_module('benchmarks')
    from benchmarks.common import Context
    ctx = Context(work=str(tmp_path), images=str(tmp_path),
                  page=str(tmp_path / 'page.md'))
    assert 'Not run yet' in bm.streaming.render(ctx)['streaming']

    def rec(method, peak, step):
        return dict(backbone='narrow', size=4096, method=method, tile=2048,
                    status='ok', peak_train_mb=peak, rss_gain_mb=peak,
                    step_s=step)

    (tmp_path / 'streaming.json').write_text(json.dumps(dict(
        command='python tools/analysis_tools/streaming_compare.py',
        records=[rec('full', 2000.0, 8.0), rec('streaming', 800.0, 16.0),
                 rec('ours', 160.0, 20.0),
                 dict(rec('full', 0, 0), backbone='resnet18',
                      status='skipped', detail='--max-size resnet18=2048')
                 ])))
    text = bm.streaming.render(ctx)['streaming']
    assert ('narrow at 4096²: ours holds 5.0× less memory than StreamingCNN '
            '(160 against 800 MiB) and its step takes 1.25× more time '
            '(20.00 against 16.00 s).') in text
    assert '| narrow | 4096² | streaming (2048 px tiles) | 800.0 |' in text
    assert ('Rows that did not run: resnet18 4096² full: skipped '
            '(--max-size resnet18=2048).') in text
    # measured in parts: each part's command is on the page
    (tmp_path / 'streaming.json').write_text(json.dumps(dict(
        command='python tools/analysis_tools/streaming_compare.py',
        runs=['python A --max-size resnet18=2048', 'python B --sizes 4096'],
        records=[rec('ours', 160.0, 20.0)])))
    assert ('Measured in parts, the rows of each backbone and size in one: '
            '`python A --max-size resnet18=2048`; `python B --sizes 4096`.'
            ) in bm.streaming.render(ctx)['streaming']
