"""The UltraDigits-scales comparison's defaults agree with each other
(tools/analysis_tools/det_comparison.py, configs/det/ultradigits_scales/,
the generator's DEFAULTS, the size buckets), and every config builds."""
import os.path as osp
import sys
from types import SimpleNamespace

import pytest

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, osp.join(ROOT, 'tools', 'analysis_tools'))
CFG = osp.join(ROOT, 'configs/det/ultradigits_scales/')


def _cfg(name):
    from mmengine.config import Config
    return Config.fromfile(CFG + name)


def test_sides_buckets_and_data_agree():
    from mmpatch.datasets.ultradigits_scales import DEFAULTS
    from mmpatch.evaluation.size_buckets import bucket_edges
    s_d = _cfg('fcos_downsampled_scales.py').img_scale[0]
    crop = _cfg('fcos_crop_scales.py')
    s_c = crop.crop_size
    canvas = DEFAULTS['canvas_size']
    # the equal-memory sides found by equal_memory.py (configs' headers)
    assert (canvas, s_d, s_c) == (1024, 512, 512)
    assert crop.repeat == (-(-canvas // s_c))**2  # a tiling: one canvas
    data = _cfg('../../_base_/datasets/ultradigits_scales_det.py')
    buckets = {k: tuple(v) for k, v in data.size_buckets.items()}
    assert buckets == bucket_edges(canvas, s_d, s_c)
    for split in ('val', 'test'):
        assert _cfg('fcos_patchgd_full_scales.py')[
            f'{split}_evaluator'].buckets == buckets
    # det_comparison slices at the crop side and times at ours' patch size
    defaults = _parse([])
    assert defaults.crop_size == s_c and defaults.epochs == 12
    assert defaults.patch_size == _cfg(
        'fcos_patchgd_full_scales.py').model.patch_cfg.patch_size
    # huge squares start above the crop side over the ~0.8 box ratio, and
    # tiny ones below the tiny edge: both buckets are populated
    assert 0.8 * DEFAULTS['huge_frac'][0] * canvas > s_c
    assert DEFAULTS['tiny_size'][0] < buckets['tiny'][1]


def _parse(argv):
    """det_comparison's parsed arguments, without running anything."""
    import argparse

    import det_comparison
    parsed = {}
    orig = argparse.ArgumentParser.parse_args

    def capture(self, *args, **kwargs):
        parsed['args'] = orig(self, *args, **kwargs)
        raise SystemExit(0)

    argparse.ArgumentParser.parse_args = capture
    try:
        with pytest.raises(SystemExit):
            det_comparison.main(argv)
    finally:
        argparse.ArgumentParser.parse_args = orig
    return parsed['args']


def test_ours_full_is_the_reference_and_the_ablation_mirrors_it():
    import det_comparison
    assert list(det_comparison.METHODS)[0] == 'ours_full'
    full = _cfg('fcos_patchgd_full_scales.py').model
    assert full.patch_cfg.gradient == 'full'
    assert full.patch_cfg.backward_chunk == full.patch_cfg.fill_chunk == 4
    noglobal = _cfg('fcos_patchgd_noglobal_scales.py').model
    assert noglobal.global_fusion is None
    assert noglobal.patch_cfg == full.patch_cfg
    sampled = _cfg('fcos_patchgd_scales.py').model
    assert sampled.patch_cfg.get('gradient', 'sampled') == 'sampled'


def test_prepare_config_applies_the_run(tmp_path):
    import det_comparison
    args = SimpleNamespace(
        data_root='/data/uds', crop_size=384, train_images=5,
        buckets=None, epochs=2, cfg_options={
            'optim_wrapper.optimizer.lr': 0.002}, workers=0)
    from mmengine.config import Config
    cfg = Config.fromfile(det_comparison.prepare_config(
        'crop', 3, args, str(tmp_path)))
    train = cfg.train_dataloader.dataset.dataset
    crop = [s for s in train.pipeline
            if s.type == 'RandomCropIgnorePartial'][0]
    assert crop.min_visible == 0.4  # the SODA-D rule
    assert tuple(crop.crop_size) == (384, 384)
    assert train.data_root == '/data/uds/' and train.indices == 5
    assert cfg.test_evaluator.ann_file == (
        '/data/uds/annotations/instances_test.json')
    assert cfg.train_cfg.max_epochs == 2 and cfg.randomness.seed == 3
    assert cfg.optim_wrapper.optimizer.lr == 0.002
    assert cfg.train_dataloader.num_workers == 0


@pytest.mark.parametrize('method', [
    'ours_full', 'ours', 'ours_noglobal', 'downsampled', 'crop', 'full',
    'z8', 'z64', 'bn_train', 'concat', 'towers_all'])
def test_every_config_builds(method):
    import det_comparison
    from sliced_eval import build_model, load_config
    cfg = load_config(CFG + det_comparison.METHODS[method][1])
    # no pretrained file in a test (the crop baseline's FCOS is wrapped)
    cfg.model.get('detector', cfg.model).backbone.init_cfg = None
    model = build_model(cfg)
    assert sum(p.numel() for p in model.parameters()) > 0
    # the crop baseline validates and tests sliced, in the loops
    assert (type(model).__name__ == 'SlicedDetector') == (method == 'crop')


def test_demo_runs_ours_full_and_the_baselines(monkeypatch, capsys):
    """`make demo`: det_comparison on a shortened schedule, ours with the
    full-image gradient (the equal-memory reference) and both baselines."""
    sys.path.insert(0, osp.join(ROOT, 'tools'))
    import demo
    seen = {}
    monkeypatch.setattr(demo, 'run_comparison',
                        lambda argv: seen.setdefault('argv', argv))
    monkeypatch.setattr(demo.osp, 'exists', lambda path: True)
    assert demo.main([]) == 0
    argv = seen['argv']
    after = {k: argv[argv.index(k) + 1] for k in (
        '--epochs', '--train-images', '--seeds', '--max-test')}
    assert after == {'--epochs': '3', '--train-images': '48', '--seeds': '0',
                     '--max-test': '16'}
    methods = argv[argv.index('--methods') + 1:argv.index('--train-images')]
    assert methods == ['ours_full', 'downsampled', 'crop']
    assert 'SHORTENED SCHEDULE' in capsys.readouterr().out


def test_page_sentences_follow_the_numbers():
    """The benchmarks page's reading of the detection table is written from
    det_comparison.json: ours against the upper bound, and each claim says
    ahead or not by the means, and whether by more than the spread."""
    from benchmarks.det import sentences

    def method(label, tiny, huge, ap):
        return {'label': label, 'coco/bbox_AP_tiny': tiny,
                'coco/bbox_AP_huge': huge, 'coco/bbox_mAP': ap}
    methods = dict(ours_full=method('ours', [0.2, 0.4], [0.1], [0.1]),
                   downsampled=method('down', [0.5], [0.9], [0.3, 0.5]),
                   crop=method('crop', [0.1], [0.05, 0.05], [0.2]),
                   full=method('full', [0.5], [0.5], [0.125]))
    text, = sentences(methods)
    assert text.startswith('ours reaches 0.80x the AP of full (0.100 '
                           'against 0.125).')
    assert ('On the tiny bucket, ours is not ahead of down (0.300 against '
            '0.500, spread 0.100).') in text
    assert ('On the huge bucket, ours is ahead of crop (0.100 against '
            '0.050, spread 0.000).') in text
    assert 'noglobal' not in text  # that method did not run
    assert text.endswith('By AP over all sizes, down leads (0.400).')
    methods['crop']['coco/bbox_AP_huge'] = [0.0, 0.18]  # spread 0.09
    assert ('ours is ahead, within the seeds\' spread, of crop (0.100 '
            'against 0.090') in sentences(methods)[0]


def test_page_reads_ablations_time_and_plateaus_from_the_runs():
    """With the runs recorded, the page adds the ablations bucket by bucket,
    the training seconds in order, the memory ratio to the full image and
    which methods hit the cap (the plateau rule, det_report.py)."""
    from benchmarks.det import sentences

    def method(label, score, seconds, curves):
        runs = [dict(train_s=s, peak_train_mb=s / 10, curve=[
            {'coco/bbox_mAP': a} for a in c]) for s, c in zip(seconds, curves)]
        return {'label': label, 'runs': runs, 'coco/bbox_mAP': [score],
                **{f'coco/bbox_AP_{k}': [score] for k in
                   ('tiny', 'medium', 'huge')}}
    flat, rising = [0.1] * 4 + [0.2] * 6, [0.01 * i for i in range(10)]
    methods = dict(
        ours_full=method('ours', 0.2, [500, 520], [flat, rising]),
        ours_noglobal=method('noglobal', 0.3, [480], [flat]),
        full=method('full', 0.25, [250, 260], [flat, flat]))
    first, blank, second = sentences(methods)
    assert blank == ''
    assert first.startswith('ours reaches 0.80x the AP of full (0.200 '
                            'against 0.250) at 2.00x its measured training '
                            'peak (51 against 26 MiB).')
    assert ('noglobal against ours: tiny 0.300 against 0.200, medium 0.300 '
            'against 0.200, huge 0.300 against 0.200.') in second
    assert ('Training took 255 s (full), 480 s (noglobal), 510 s '
            '(ours).') in second
    # one run of ours still rose over its last fifth: ours hit the cap
    assert '1 of 3 methods hit the schedule\'s cap' in second
    assert '(ours).' in second


def test_plateau_rule():
    from det_report import plateaued
    point = lambda a: {'coco/bbox_mAP': a}  # noqa: E731
    assert plateaued([point(a) for a in [0.1, 0.3, 0.5, 0.5, 0.505]])
    assert not plateaued([point(a) for a in [0.1, 0.3, 0.5, 0.5, 0.52]])
    assert not plateaued([point(0.1)])  # one point: nothing to compare


def test_every_ablation_is_read_on_the_page():
    """Each method of the ablation table is read bucket by bucket against
    ours (benchmarks/det.py ABLATIONS)."""
    import det_comparison
    from benchmarks.det import ABLATIONS
    ablations = {m for m, v in det_comparison.METHODS.items()
                 if v[3] == det_comparison.ABLATION}
    assert ablations <= {row for row, ref in ABLATIONS
                         if ref == 'ours_full'}


def _trained_run(tmp_path, recipe, args):
    """A work folder as run_one leaves it: spec (with its stamp), scores."""
    import json

    import det_comparison
    run_dir = tmp_path / 'work' / 'full' / 'seed0'
    run_dir.mkdir(parents=True)
    stamp = dict(recipe=recipe, run=det_comparison.run_options(args))
    (run_dir / 'spec.json').write_text(json.dumps(stamp))
    (run_dir / 'scores.json').write_text(json.dumps(
        dict(method='full', seed=0, test={'coco/bbox_mAP': 0.5})))
    return run_dir


def _run_args(tmp_path):
    return SimpleNamespace(work_dir=str(tmp_path / 'work'),
                           results=str(tmp_path / 'kept'), force=False,
                           epochs=12, data_root='data/ultradigits_scales/',
                           train_images=None, cfg_options=None)


def test_a_trained_run_is_kept_with_its_own_stamp(tmp_path):
    """A run trained and scored from today's config is kept without
    training again, stamped with the recipe it was trained from."""
    import json

    import det_comparison
    args = _run_args(tmp_path)
    _trained_run(tmp_path, det_comparison.recipe('full'), args)
    det_comparison.run_one('full', 0, args)
    kept = json.loads((tmp_path / 'kept/full/seed0.json').read_text())
    assert kept['recipe'] == det_comparison.recipe('full')
    assert det_comparison.is_current(kept, 'full', args)


def test_a_run_of_an_earlier_recipe_is_trained_again(tmp_path, monkeypatch):
    """A work folder trained from another recipe is not kept under today's
    stamp: it is cleared and trained afresh."""
    import det_comparison
    import experiment
    args = _run_args(tmp_path)
    run_dir = _trained_run(tmp_path, 'an earlier one', args)

    def train(config, work_dir, test):
        assert not (run_dir / 'scores.json').exists()
        raise RuntimeError('trained')

    monkeypatch.setattr(experiment, 'run_subprocess', train)
    monkeypatch.setattr(det_comparison, 'prepare_config',
                        lambda *a: 'config.py')
    with pytest.raises(RuntimeError, match='trained'):
        det_comparison.run_one('full', 0, args)
    assert not (tmp_path / 'kept/full/seed0.json').exists()
