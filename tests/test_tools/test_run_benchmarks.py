"""tools/analysis_tools/run_benchmarks.py: the page rendered from its
template and saved (fake) results, the seed aggregation, the growth checks,
and the epoch schedule of tools/analysis_tools/experiment.py."""
import importlib
import json
import os.path as osp
import sys

import pytest

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOLS = osp.join(REPO, 'tools', 'analysis_tools')


@pytest.fixture(scope='module')
def bm():
    """The sections, imported as run_benchmarks.py imports them."""
    sys.path.insert(0, TOOLS)
    try:
        yield importlib.import_module('benchmarks')
    finally:
        sys.path.remove(TOOLS)


def _run(seed, top1, curve, iters=192, train_s=100.0):
    return dict(config='c.py', work_dir='/nonexistent', iters=iters,
                train_s=train_s + seed, test_s=1.0, peak_train_mb=None,
                metrics={'accuracy/top1': top1}, seed=seed,
                schedule=dict(epochs=3, val_every=0.5, iters_per_epoch=64,
                              batch_size=4, max_iters=iters),
                val_curve=[dict(iter=32 * (i + 1), epoch=(i + 1) / 2,
                                train_s=10.0 * (i + 1), wall_s=11.0 * (i + 1),
                                metrics={'accuracy/top1': v})
                           for i, v in enumerate(curve)])


def _cls_result():
    rows = {'patchgd': 'PatchGD + global (ours)',
            'full': 'full gradient (ours)'}
    return dict(
        schedule=dict(epochs=3, val_every=0.5, seeds=[0, 1, 2], jobs=2,
                      threads=1, smoke=False),
        rows={k: dict(label=v, config=f'configs/cls/{k}.py')
              for k, v in rows.items()},
        runs={'patchgd': {str(s): _run(s, 70.0 + 2 * s, [50, 60, 70 + s])
                          for s in range(3)},
              'full': {str(s): _run(s, 80.0 + s, [60, 78, 79 + s])
                       for s in range(3)}})


def _mem(method, size, peak, z, fixed, gradient='sampled', chunk=None):
    return dict(method=method, size=size, status='ok', peak_train_mb=peak,
                latent_mb=z, fixed_mb=fixed, k=64 if gradient == 'full' else 1,
                gradient=gradient if method == 'ours' else None,
                backward_chunk=chunk, patch=512, config='configs/x.py',
                memory_method='cpu_dispatch_tracker', model='M',
                image_source='memory', input_size=size, batch_size=1,
                step_s=1.0, infer_s=0.5, peak_infer_mb=10.0)


def test_aggregate_mean_std_and_reading(bm):
    from benchmarks.accuracy import aggregate, fmt, reading, table
    rows = aggregate(_cls_result(), [('top-1', 'accuracy/top1')])
    full = rows['full']
    assert full['seeds'] == 3
    assert full['accuracy/top1'] == pytest.approx((81.0, 1.0))
    assert rows['patchgd']['accuracy/top1'] == pytest.approx((72.0, 2.0))
    # training seconds of the last validation point: validation left out
    assert full['train_s'] == pytest.approx((30.0, 0.0))
    # the last interval's change of the validation curve, over the seeds
    assert full['last_change'] == pytest.approx((2.0, 1.0))
    assert rows['patchgd']['last_change'] == pytest.approx((11.0, 1.0))
    assert fmt((81.0, 1.0), 1) == '81.0 ± 1.0'
    assert fmt((81.0, None), 1) == '81.0'
    assert fmt((None, None)) == '—'
    text = table(rows, [('top-1', 'accuracy/top1')], digits=1)
    assert '| full gradient (ours) | 81.0 ± 1.0 | 2.0 ± 1.0 | 3 | 192 |' \
        in text
    sentence = reading(rows, 'accuracy/top1', 'top-1 accuracy', 1)
    assert sentence.startswith('By top-1 accuracy, full gradient (ours) is '
                               'ahead by more than the spread')


def test_table_says_how_many_seeds_gave_a_number(bm):
    """A metric some seeds left undefined (nan) is averaged over the others,
    and the table says over how many."""
    from benchmarks.accuracy import aggregate, table
    result = _cls_result()
    result['runs']['full']['1']['metrics']['accuracy/top1'] = float('nan')
    rows = aggregate(result, [('top-1', 'accuracy/top1')])
    assert rows['full']['accuracy/top1'] == pytest.approx((81.0, 1.4142),
                                                          rel=1e-4)
    text = table(rows, [('top-1', 'accuracy/top1')], digits=1)
    assert '| full gradient (ours) | 81.0 ± 1.4 (2 of 3 seeds) |' in text
    assert '| PatchGD + global (ours) | 72.0 ± 2.0 | ' in text


def test_stroke_scores_from_the_log(bm, tmp_path):
    """mmseg's per-class table in the run's log; a run that predicts no
    stroke has a nan precision and F-score in it, and F1 is then 0."""
    from benchmarks.tasks import stroke_scores
    log = tmp_path / '20261205_000000' / '20261205_000000.log'
    log.parent.mkdir()

    def write(values):
        log.write_text(
            '| Class | IoU | Acc | Dice | Fscore | Precision | Recall |\n'
            f'| stroke | {values} |\n')
    write('50.0 | 60.0 | 66.67 | 66.67 | 75.0 | 60.0')
    result = dict(work_dir=str(tmp_path), metrics={'mIoU': 74.0})
    scores = stroke_scores(result)
    assert scores['stroke_IoU'] == pytest.approx(0.5)
    assert scores['stroke_Fscore'] == pytest.approx(0.6667)
    assert scores['mIoU_frac'] == pytest.approx(0.74)
    write('0.0 | 0.0 | 0.0 | nan | nan | 0.0')
    assert stroke_scores(result)['stroke_Fscore'] == 0.0


def test_growth_sentence_of_the_full_gradient_step(bm):
    from benchmarks.memory import growth_full, growth_sampled
    # Z grows 32 MiB: Z + dL/dZ 64, bound 70.4; the batch 36 MiB
    ok = [_mem('ours', 2048, 500.0, 8.0, 100.0, 'full', 2),
          _mem('ours', 4096, 600.0, 40.0, 136.0, 'full', 2)]
    text = growth_full(ok)
    assert 'at a fixed chunk of 2 patches' in text
    assert 'the peak grows by 100.0 MiB, Z by 32.0 MiB' in text
    assert 'the step itself by 64.0 MiB, 1.00×' in text
    assert '(70.4 MiB): the peak **False**, the step **True**' in text
    within = [dict(r) for r in ok]
    within[1]['peak_train_mb'], within[1]['fixed_mb'] = 560.0, 100.0
    assert 'the peak **True**, the step **True**' in growth_full(within)
    other_chunk = [ok[0], dict(ok[1], backward_chunk=4)]
    assert 'different chunks' in growth_full(other_chunk)
    # the sampled sentence reads the sampled records only
    assert growth_sampled(ok) is None
    sampled = [_mem('ours', 2048, 489.0, 8.0, 100.0),
               _mem('ours', 4096, 557.0, 40.0, 136.0)]
    assert 'Peak growth within 1.1 × Z\'s growth (35.2 MiB): **False**' in \
        growth_sampled(sampled)
    assert growth_full(sampled) is None


def test_page_from_template_and_fake_results(bm, tmp_path):
    from benchmarks.common import Context, save
    from benchmarks.page import fill
    ctx = Context(work=str(tmp_path / 'work'), images=str(tmp_path / 'img'),
                  page=str(tmp_path / 'page.md'))
    # no results at all: every placeholder still filled
    empty = fill(ctx, bm.RENDERERS)
    assert '${' not in empty and 'Not run yet' in empty
    assert '--only det`' in empty  # the det section says how to fill it
    assert 'Not yet measured on a GPU' in empty
    save(ctx, 'cls', _cls_result())
    save(ctx, 'time', {'resnet_cls': [
        dict(_mem('ours', 1024, 52.0, 1.0, 20.0), row='sampled',
             config='configs/cls/patchgd.py', step_s=0.7),
        dict(_mem('full', 1024, 900.0, 1.0, 20.0), row='sampled',
             step_s=1.6),
        dict(_mem('ours', 1024, 51.0, 1.0, 20.0, 'full', 8), row='full',
             config='configs/cls/full.py', step_s=2.0),
        dict(_mem('ours', 1024, 60.0, 1.0, 20.0, 'full', 8),
             row='full_nocp', config='configs/cls/full.py', step_s=1.8)]})
    save(ctx, 'memory_fcos_r50', [
        _mem('ours', 2048, 489.0, 8.0, 100.0),
        _mem('full', 2048, 3396.0, None, 100.0),
        _mem('ours', 4096, 557.0, 40.0, 136.0)])
    save(ctx, 'memory_fcos_r50_full', [
        _mem('ours', 2048, 500.0, 8.0, 100.0, 'full', 2),
        _mem('ours', 4096, 600.0, 40.0, 136.0, 'full', 2)])
    save(ctx, 'budget', dict(
        config='configs/det/b.py', iters=8, train_s=600.0, plan='memory plan:'
        ' k=2', peaks_mb=[[1, 800.0], [2, 850.0]],
        too_small=dict(returncode=1, error='BudgetError: too small',
                       trained=False)))
    save(ctx, 'timings', {'cls': dict(seconds=600, threads='1')})
    # what det_comparison.py keeps: one JSON per run (a page written
    # elsewhere than docs/ keeps them in the work folder), and a picture
    kept = tmp_path / 'work' / 'det' / 'results'
    for seed, ap in ((0, 0.09), (1, 0.11)):
        (kept / 'ours_full').mkdir(parents=True, exist_ok=True)
        (kept / 'ours_full' / f'seed{seed}.json').write_text(json.dumps(
            _det_run('ours_full', seed, ap)))
    (kept / 'predictions.png').write_bytes(b'png')
    stale = dict(_det_run('full', 0, 0.9), recipe='an earlier one')
    (kept / 'full').mkdir()
    (kept / 'full' / 'seed0.json').write_text(json.dumps(stale))
    page = fill(ctx, bm.RENDERERS)
    assert '${' not in page
    assert 'cls 10 min (OMP_NUM_THREADS=1)' in page
    assert ('3 epochs (64 iterations of batch 4 each, 192 in all), '
            'validation every 0.5 epoch(s), seeds 0, 1, 2') in page
    assert '| full gradient (ours) | 81.0 ± 1.0 |' in page
    # the peak column from the time section's record of the same config
    assert '| PatchGD + global (ours) | 72.0 ± 2.0 | 11.0 ± 1.0 | 3 | 192 ' \
        '| 30 ± 0 | 52 |' in page
    assert '![validation curves](img/curve_cls.png)' in page
    assert osp.getsize(tmp_path / 'img' / 'curve_cls.png') > 1000
    assert ('| resnet_cls | 1024², 1 | 0.70 | 2.00 | 1.60 | 1.25× | 2.86× |'
            in page)
    # a variant of the full-gradient step gets its own line, ratios included
    assert ('| resnet_cls (full gradient, θ1 without `with_cp`) | 1024², 1 | '
            '0.70 | 1.80 | 1.60 | 1.12× | 2.57× |') in page
    assert ('| `configs/cls/full.py` (full gradient, θ1 without `with_cp`) '
            '| ours |') in page
    assert '| ours, full gradient | 2048 | 512 | 64 | 2 | 500 |' in page
    assert 'the peak **False**, the step **True**' in page  # full gradient
    assert '**False**.' in page  # the sampled check
    assert osp.getsize(tmp_path / 'img' / 'memory_fcos_r50.png') > 1000
    assert 'all under the budget: True' in page
    assert ('| PatchGD + global (ours, full gradient) | 0.100 ± 0.010 | '
            in page)
    assert '| 0 of 2 (5 epochs) |' in page  # the plateau rule's verdict
    assert (kept / 'det_comparison.md').exists()  # rendered from the runs
    assert '| full-image FCOS (unbounded' not in page  # an earlier recipe
    assert '![predictions](img/det_predictions.png)' in page
    assert (tmp_path / 'img' / 'det_predictions.png').read_bytes() == b'png'
    assert '> BudgetError: too small' in page
    # a fresh clone has the page's copy only (the run's is not committed)
    (kept / 'predictions.png').unlink()
    assert '![predictions](img/det_predictions.png)' in fill(ctx,
                                                             bm.RENDERERS)


def _det_run(method, seed, ap):
    """A kept detection run as det_comparison.py writes it."""
    buckets = dict(tiny=[0, 16], medium=[16, 512], huge=[512, 100000])
    test = {f'coco/bbox_{k}': ap for k in ('mAP', 'mAP_50', 'AP_tiny',
                                           'AP_medium', 'AP_huge')}
    test.update({f'coco/bbox_n_{k}': 10 for k in buckets})
    curve = [{'epoch': e, 'train_s': 10.0 * e, 'coco/bbox_mAP': ap * e / 5}
             for e in range(1, 6)]
    from det_comparison import recipe  # beside run_benchmarks.py
    return dict(method=method, seed=seed, curve=curve, buckets=buckets,
                test=test, infer_s=0.2, slices=1, train_s=50.0, iters=10,
                peak_train_mb=80.0, recipe=recipe(method))


def test_epoch_schedule_of_an_experiment(tmp_path, bm):
    """``epochs`` of an iteration-based config: iterations from the
    training set's length and batch size, validation (and precise BN)
    every ``val_every`` epochs, the checkpoint at the end."""
    # experiment.py is beside run_benchmarks.py: on sys.path while ``bm`` is
    from experiment import epoch_options
    from mmengine.config import Config

    from mmpatch.datasets.ultradigits_cls import generate_ultradigits_cls
    data = str(tmp_path / 'udcls')
    generate_ultradigits_cls(data, canvas_size=512, num_train=9, num_val=1,
                             num_test=1)
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'cls',
                                   'resnet_patchgd_ultradigits.py'))
    cfg.merge_from_dict({'train_dataloader.dataset.data_root': data})
    cfg.custom_hooks = [*cfg.custom_hooks, dict(
        type='PatchPreciseBNHook', num_batches=2, interval=300)]
    options = epoch_options(cfg, epochs=3, val_every=0.5)
    # 9 canvases in batches of 4: 3 iterations an epoch
    assert options.pop('iters_per_epoch') == 3
    assert options['train_cfg.max_iters'] == 9
    assert options['train_cfg.val_interval'] == 2  # round(0.5 * 3)
    assert options['default_hooks.checkpoint.interval'] == 9
    hooks = {h['type']: h for h in options['custom_hooks']}
    assert hooks['PatchPreciseBNHook']['interval'] == 2
    assert set(hooks) == {h['type'] for h in cfg.custom_hooks}
    json.dumps(options)  # they travel to the experiment's process as JSON


def test_rendering_keeps_the_parts_measured_elsewhere(bm):
    """A part of the page without results here keeps its measured text;
    a part measured here, and a part never measured, are rendered."""
    from benchmarks.page import keep_measured
    old = ('# Benchmarks\nPage took 20 min.\n## Seg\nmIoU 90.\n'
           '## Det\nAP 0.1\n## GPU\n*Not run yet: x.*\n')
    new = ('# Benchmarks\nnot timed yet\n## Seg\n*Not run yet: seg.*\n'
           '## Det\nAP 0.5\n## GPU\n*Not run yet: y.*\n## New\nz\n')
    assert keep_measured(new, old) == (
        '# Benchmarks\nPage took 20 min.\n## Seg\nmIoU 90.\n## Det\nAP 0.5\n'
        '## GPU\n*Not run yet: y.*\n## New\nz\n')
