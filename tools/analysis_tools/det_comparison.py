"""Detection on UltraDigits-scales: ours against what users would pick instead.

    python tools/analysis_tools/det_comparison.py \
        --work-dir work_dirs/det_comparison --seeds 0 1 2 --epochs 12 \
        [--methods ours_full downsampled crop ...] \
        [--jobs 2] [--data-root data/ultradigits_scales/] [--crop-size 512] \
        [--max-val N] [--max-test N] [--curve-every 1]

Every method (configs/det/ultradigits_scales/) is trained for the same
number of epochs from the same pretrained backbone, once per seed, in a
fresh process (``--jobs`` at a time, one thread each). Then each epoch's
checkpoint is scored on the validation canvases (the time-to-accuracy
curve: val AP against training wall-clock, validation excluded) and the
last on the test canvases: whole-image inference, or sliced inference at
the crop side for the crop-trained baseline (sliced_eval.py beside it),
the crop model's inference also timed at ours' patch size. Each finished
run's scores are kept as ``RESULTS/<method>/seed<k>.json`` (``--results``,
default WORK_DIR/results; the benchmarks page keeps them committed under
docs/results/det_comparison/): a run whose file is there is not run again,
so a comparison can be completed over several sessions. The report is
written from those files only (det_report.py beside this script):
RESULTS/det_comparison.{json,md} (mean ± std over seeds, main rows then
ablations, with the plateau rule's verdict per run), the picture
time_to_accuracy.png and, from the work folder's predictions, the
whole-canvas predictions.png.
"""
import argparse
import functools
import glob
import json
import os
import os.path as osp
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

from det_report import (KEYS, draw_predictions, load_runs,  # beside it
                        summarize)

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CFG = 'configs/det/ultradigits_scales/'
MAIN, ABLATION = 'comparison', 'ablations of ours (full gradient)'
#: name -> (label, config, sliced inference at the crop side, table)
METHODS = {  # ours_full first: the equal-memory reference
    'ours_full': ('PatchGD + global (ours, full gradient)',
                  'fcos_patchgd_full_scales.py', False, MAIN),
    'ours': ('PatchGD + global (ours, sampled)', 'fcos_patchgd_scales.py',
             False, MAIN),
    'ours_noglobal': ('PatchGD without global patch (full gradient)',
                      'fcos_patchgd_noglobal_scales.py', False, MAIN),
    'downsampled': ('downsampled FCOS', 'fcos_downsampled_scales.py', False,
                    MAIN),
    'crop': ('crop-trained FCOS (SODA-D rule) + sliced inference',
             'fcos_crop_scales.py', True, MAIN),
    'full': ('full-image FCOS (unbounded memory)', 'fcos_full_scales.py',
             False, MAIN),
    # each changes one choice of ours_full (its config names them all)
    'z8': ('ours, Z at 8 channels',
           'ablations/fcos_patchgd_full_z8_scales.py', False, ABLATION),
    'z64': ("ours, Z at the head's 64 channels",
            'ablations/fcos_patchgd_full_z64_scales.py', False, ABLATION),
    'bn_train': ("ours, θ1's BatchNorm trained on chunks",
                 'ablations/fcos_patchgd_full_bntrain_scales.py', False,
                 ABLATION),
    'concat': ('ours, global patch concatenated to Z',
               'ablations/fcos_patchgd_full_concat_scales.py', False,
               ABLATION),
    'towers_all': ('ours, towers per patch on every level',
                   'ablations/fcos_patchgd_full_towersall_scales.py', False,
                   ABLATION),
}


def prepare_config(method, seed, args, run_dir):
    """The method's config with the run's data, epochs and seed, dumped."""
    from mmengine.config import Config
    cfg = Config.fromfile(osp.join(ROOT, CFG, METHODS[method][1]))
    root = args.data_root.rstrip('/') + '/'
    train = cfg.train_dataloader.dataset
    if train.type == 'RepeatDataset':
        train = train.dataset
        for step in train.pipeline:
            if 'RandomCrop' in step.type and args.crop_size:
                step.crop_size = (args.crop_size, args.crop_size)
        if cfg.model.type == 'SlicedDetector' and args.crop_size:
            cfg.model.slice_size = args.crop_size
    for ds in (train, cfg.val_dataloader.dataset, cfg.test_dataloader.dataset):
        ds.data_root = root
    if args.train_images:
        train.indices = args.train_images  # the first N training canvases
    for split in ('val', 'test'):
        cfg[f'{split}_evaluator'].ann_file = (
            f'{root}annotations/instances_{split}.json')
    for split in ('val', 'test') if args.buckets else ():
        cfg[f'{split}_evaluator'].buckets = args.buckets
    cfg.train_cfg.max_epochs = args.epochs
    cfg.train_cfg.val_begin = args.epochs + 1  # no validation in training
    cfg.randomness = dict(seed=seed)
    cfg.merge_from_dict(args.cfg_options or {})  # e.g. the learning rate
    for loader in ('train', 'val', 'test'):
        cfg[f'{loader}_dataloader'].update(
            num_workers=args.workers, persistent_workers=args.workers > 0)
    path = osp.join(run_dir, 'config.py')
    cfg.dump(path)
    return path


@functools.lru_cache(maxsize=None)
def recipe(method):
    """A stamp of the method's config as it is now (its resolved text): a
    kept run made from another recipe is stale, run again and left out of
    the report. Read once a process: every kept run is checked against it."""
    import hashlib

    from mmengine.config import Config
    text = Config.fromfile(osp.join(ROOT, CFG, METHODS[method][1])).pretty_text
    return hashlib.sha1(text.encode()).hexdigest()[:12]


def run_options(args):
    return dict(epochs=args.epochs, data_root=args.data_root,
                train_images=args.train_images, cfg_options=args.cfg_options)


def is_current(kept, method, args=None):
    """Whether a kept run (its JSON) was made from the method's config as
    it is now (and, given ``args``, with the same run options)."""
    return kept.get('recipe') == recipe(method) and (
        args is None or kept.get('run') == run_options(args))


def run_one(method, seed, args):
    """Train one (method, seed) unless kept already from the same recipe,
    score it (fresh processes; a run trained already is only scored) and
    keep its scores in RESULTS."""
    from experiment import run_subprocess  # beside this script
    run_dir = osp.join(args.work_dir, method, f'seed{seed}')
    kept = osp.join(args.results, method, f'seed{seed}.json')
    if osp.exists(kept) and not args.force and is_current(
            json.load(open(kept)), method, args):
        return
    spec_file = osp.join(run_dir, 'spec.json')
    trained = osp.exists(spec_file) and not args.force and is_current(
        json.load(open(spec_file)), method, args)
    if trained and osp.exists(osp.join(run_dir, 'scores.json')):
        return keep(run_dir, kept)
    if not trained:  # a run of another recipe (or none): train afresh
        shutil.rmtree(run_dir, ignore_errors=True)
        os.makedirs(run_dir)
        stamp = dict(recipe=recipe(method), run=run_options(args))
        config = prepare_config(method, seed, args, run_dir)
        train = run_subprocess(config, run_dir, test=False)
        spec = dict(stamp, method=method, seed=seed, config=config,
                    sliced=METHODS[method][2], slice_size=args.crop_size,
                    patch_size=args.patch_size, curve_every=args.curve_every,
                    max_val=args.max_val, max_test=args.max_test,
                    timing_images=args.timing_images, train=train)
        with open(osp.join(run_dir, 'spec.json'), 'w') as f:
            json.dump(spec, f, indent=2)
    subprocess.run([sys.executable, __file__, '--score-run', run_dir],
                   check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    keep(run_dir, kept)


def current_runs(results):
    """The kept runs made from the configs as they are now (a line says
    how many stale ones are left out)."""
    runs = [r for r in load_runs(results) if r['method'] in METHODS]
    current = [r for r in runs if is_current(r, r['method'])]
    if len(current) < len(runs):
        print(f'det_comparison: {len(runs) - len(current)} kept run(s) of '
              'an earlier recipe left out (run again)')
    return current


def keep(run_dir, kept):
    """The run's scores, with what it was run on, as RESULTS' file."""
    scores = json.load(open(osp.join(run_dir, 'scores.json')))
    # the stamp of the recipe it was trained from, not of today's config
    spec = json.load(open(osp.join(run_dir, 'spec.json')))
    scores.update(run=spec['run'], recipe=spec['recipe'])
    os.makedirs(osp.dirname(kept), exist_ok=True)
    with open(kept, 'w') as f:
        json.dump(scores, f, indent=1)


def score_run(run_dir):
    """Val AP of every (``curve_every``-th) epoch and test metrics of the
    last one; writes RUN_DIR/scores.json."""
    from mmengine.config import Config
    from sliced_eval import score_checkpoints  # beside this script
    spec = json.load(open(osp.join(run_dir, 'spec.json')))
    clock = json.load(open(osp.join(run_dir, 'train_clock.json')))
    ckpts = {int(re.findall(r'epoch_(\d+)', p)[0]): p
             for p in glob.glob(osp.join(run_dir, 'epoch_*.pth'))}
    last = max(ckpts)
    kw = dict(sliced=spec['sliced'], slice_size=spec['slice_size'])
    curve_epochs = [e for e in sorted(ckpts) if spec['curve_every'] and (
        e % spec['curve_every'] == 0 or e == last)]
    val = score_checkpoints(spec['config'], [ckpts[e] for e in curve_epochs],
                            'val', max_images=spec['max_val'],
                            **kw) if curve_epochs else []
    times = {r['epoch']: r['train_s'] for r in clock}
    curve = [dict(epoch=e, train_s=times[e], **{k: r['metrics'].get(k)
                                                 for k in KEYS})
             for e, r in zip(curve_epochs, val)]
    test = score_checkpoints(spec['config'], [ckpts[last]], 'test',
                             max_images=spec['max_test'],
                             outfile_prefix=osp.join(run_dir, 'test'),
                             **kw)[0]
    out = dict(method=spec['method'], seed=spec['seed'], curve=curve,
               buckets=dict(Config.fromfile(spec['config']).test_evaluator
                            .buckets),
               test=test['metrics'], infer_s=test['infer_s'],
               slices=test['slices'], train_s=clock[-1]['train_s'],
               iters=spec['train']['iters'],
               peak_train_mb=spec['train']['peak_train_mb'])
    if spec['sliced']:  # the same model sliced at ours' patch size: time
        out['infer_s_at_patch'] = score_checkpoints(
            spec['config'], [ckpts[last]], 'test', sliced=True,
            slice_size=spec['patch_size'],
            max_images=spec['timing_images'])[0]['infer_s']
    with open(osp.join(run_dir, 'scores.json'), 'w') as f:
        json.dump(out, f, indent=2)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--work-dir', default='work_dirs/det_comparison')
    p.add_argument('--results', default=None,
                   help='where runs are kept, one JSON each (default '
                   'WORK_DIR/results)')
    p.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    p.add_argument('--epochs', type=int, default=12,
                   help='the cap; every epoch is scored for the plateau rule')
    p.add_argument('--methods', nargs='+', default=list(METHODS),
                   choices=list(METHODS))
    p.add_argument('--data-root', default='data/ultradigits_scales/')
    p.add_argument('--crop-size', type=int, default=512,
                   help='crop side of the crop baseline = its slice side')
    p.add_argument('--patch-size', type=int, default=256,
                   help="ours' (the crop model is timed sliced at it too)")
    p.add_argument('--buckets', type=json.loads, default=None,
                   help='JSON {"tiny": [lo, hi], ...} (default: the configs)')
    p.add_argument('--cfg-options', type=json.loads, default=None,
                   help='JSON {"key": value} merged into every config, e.g. '
                   '\'{"optim_wrapper.optimizer.lr": 0.003}\'')
    p.add_argument('--jobs', type=int, default=2)
    p.add_argument('--workers', type=int, default=1)
    p.add_argument('--curve-every', type=int, default=1,
                   help='val AP of every N-th epoch (0: no curve)')
    p.add_argument('--train-images', type=int, default=None,
                   help='train on the first N training canvases only')
    p.add_argument('--max-val', type=int, default=None)
    p.add_argument('--max-test', type=int, default=None)
    p.add_argument('--timing-images', type=int, default=8)
    p.add_argument('--force', action='store_true', help='rerun done runs')
    p.add_argument('--score-run', help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.score_run:
        return score_run(args.score_run)
    os.chdir(ROOT)
    os.environ['OMP_NUM_THREADS'] = os.environ.get('OMP_NUM_THREADS', '1')
    args.work_dir = osp.abspath(args.work_dir)
    args.results = osp.abspath(args.results
                               or osp.join(args.work_dir, 'results'))
    jobs = [(m, s) for s in args.seeds for m in args.methods]
    with ThreadPoolExecutor(args.jobs) as pool:
        list(pool.map(lambda j: run_one(*j, args), jobs))
    # every kept run of the current recipes, earlier invocations' included
    runs = current_runs(args.results)
    print(summarize(runs, METHODS, args.results, args.patch_size))
    args.methods = [m for m in METHODS if any(r['method'] == m
                                              for r in runs)]
    if glob.glob(osp.join(args.work_dir, '*', '*', 'test.bbox.json')):
        draw_predictions(args, METHODS, osp.join(args.results,
                                                 'predictions.png'))
    return runs


if __name__ == '__main__':
    main()
