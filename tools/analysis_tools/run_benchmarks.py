"""`make benchmarks`: regenerate every number and picture of docs/benchmarks.md.

    python tools/run_benchmarks.py [--work-dir work_dirs/benchmarks]
                                   [--only det seg cls memory budget pictures]
                                   [--memory-runs fcos_r50 ...]
                                   [--det-iters 360] [--seg-iters 120] [--cls-iters 300]

Each accuracy comparison trains PatchGD for a fixed number of iterations,
then trains each baseline for the same wall-clock time, and scores all of
them on the same whole test images (mmpatch.utils.experiment, one fresh
process per run). The memory section runs tools/benchmark_memory.py. The
pictures are drawn by the libraries' own visualizers through
``tools/test.py --show-dir``. Results go to WORK_DIR/*.json and the page is
written from them, so it always matches the run. Not part of `make test`:
it takes about an hour on 2 CPU cores.
"""
import argparse
import glob
import json
import os
import os.path as osp
import re
import subprocess
import sys
import time
from typing import Dict, List, Optional

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..'))
sys.path.insert(0, ROOT)

from mmpatch.utils.experiment import run_subprocess  # noqa: E402

DOC = osp.join(ROOT, 'docs', 'benchmarks.md')
IMAGES = osp.join(ROOT, 'docs', 'images')
LONG = {'train_cfg.max_iters': 100000, 'train_cfg.val_interval': 100000}


def _iters(n: int) -> Dict:
    return {'train_cfg.max_iters': n, 'train_cfg.val_interval': n,
            'default_hooks.checkpoint.interval': n}


def compare(name: str, ours_cfg: str, baselines: Dict[str, str], iters: int,
            work_dir: str) -> Dict:
    """PatchGD for ``iters`` iterations, each baseline for the same time."""
    out = osp.join(work_dir, f'{name}.json')
    ours = run_subprocess(ours_cfg, osp.join(work_dir, name, 'patchgd'),
                          _iters(iters))
    runs = {'PatchGD + global (ours)': ours}
    for label, cfg in baselines.items():
        runs[label] = run_subprocess(
            cfg, osp.join(work_dir, name, label.split()[0]),
            dict(LONG, **{'default_hooks.checkpoint.interval': 100000}),
            time_limit=ours['train_s'])
    with open(out, 'w') as f:
        json.dump(runs, f, indent=2)
    return runs


CLS_PRETRAINED = 'checkpoints/resnet18n_digits.pth'


def cls_inputs() -> None:
    """UltraDigits-cls and the pretrained backbone the classifiers load
    (each tool skips work that is already done)."""
    subprocess.run([sys.executable, 'tools/make_ultradigits_cls.py', '--out',
                    'data/ultradigits_cls'], cwd=ROOT, check=True)
    if not osp.exists(osp.join(ROOT, CLS_PRETRAINED)):
        subprocess.run([sys.executable, 'tools/pretrain_digits.py', '--out',
                        CLS_PRETRAINED], cwd=ROOT, check=True)


def stroke_scores(work_dir: str) -> Dict[str, float]:
    """Per-class IoU / Dice / F-score of the stroke class from mmseg's log."""
    logs = sorted(glob.glob(osp.join(work_dir, '*', '*.log')))
    scores: Dict[str, float] = {}
    for log in logs:
        text = open(log).read()
        header = re.findall(r'^\|\s*Class\s*\|(.*)\|\s*$', text, re.M)
        rows = re.findall(r'^\|\s*stroke\s*\|(.*)\|\s*$', text, re.M)
        if header and rows:
            names = [h.strip() for h in header[-1].split('|')]
            values = [float(v) for v in rows[-1].split('|')]
            scores = dict(zip(names, values))
    return scores


#: the memory section's tools/benchmark_memory.py runs, by name, in page
#: order (--memory-runs picks some)
MEMORY_RUNS = {
    # one inner iteration of k = 1: the peak of every inner iteration is
    # the same, so one shows it (a 4096 px R50 step takes ~10 min here)
    'fcos_r50': ['configs/det/fcos_patchgd_sodad.py', '--sizes', '1024',
                 '2048', '4096', '--baseline', 'full', '--steps', '1',
                 '--timeout', '1800', '--cfg-options',
                 'model.patch_cfg.inner_iters=1',
                 'model.patch_cfg.patches_per_iter=1', '--budget', '2G'],
    # the stock mmdet network as the baseline: no activation
    # checkpointing in the backbone (the run above gives the baseline
    # ours' backbone.with_cp=True)
    'fcos_r50_stock': ['configs/det/fcos_patchgd_sodad.py', '--sizes',
                       '1024', '2048', '--baseline', 'full', '--steps', '1',
                       '--timeout', '1800', '--cfg-options',
                       'model.patch_cfg.inner_iters=1',
                       'model.patch_cfg.patches_per_iter=1',
                       '--baseline-cfg-options',
                       'model.backbone.with_cp=False', '--budget', '2G'],
    # the same step with the images memory-mapped and read patch by patch
    # (LoadLazyImage); ours only: the full baseline needs the whole image
    'fcos_r50_mapped': ['configs/det/fcos_patchgd_sodad.py', '--sizes',
                        '1024', '2048', '4096', '--baseline', 'none',
                        '--steps', '1', '--timeout', '1800',
                        '--image-source', 'mapped',
                        '--cfg-options', 'model.patch_cfg.inner_iters=1',
                        'model.patch_cfg.patches_per_iter=1', '--budget',
                        '2G'],
    'ultradigits_det': ['configs/det/fcos_patchgd_ultradigits.py', '--sizes',
                        '1024', '2048', '8192', '--baseline', 'full',
                        '--steps', '1'],
    'unet_seg': ['configs/seg/unet_patchgd_ultradigits.py', '--sizes', '1024',
                 '2048', '--baseline', 'full', '--steps', '1'],
}


def memory(work_dir: str,
           names: Optional[List[str]] = None) -> Dict[str, List[Dict]]:
    """tools/benchmark_memory.py runs; records and plots.

    ``names`` limits the runs (all by default); the others keep their
    records from an earlier run, and the page reads every record.
    """
    results = {}
    for name, args in MEMORY_RUNS.items():
        if names and name not in names:
            continue
        out = osp.join(work_dir, f'memory_{name}.json')
        plot = osp.join(IMAGES, f'memory_{name}.png')
        subprocess.run([sys.executable, 'tools/benchmark_memory.py', *args,
                        '--json', out, '--plot', plot], cwd=ROOT, check=True)
        with open(out) as f:
            results[name] = json.load(f)
    return results


BUDGET_CFG = 'configs/det/fcos_patchgd_r50_budget1g_ultradigits.py'


def budget(work_dir: str) -> Dict:
    """FCOS-R50 at 2048 px under memory_budget='1G': 20 iterations, every
    logged peak; then a budget below what k = 1 needs, which must stop the
    run before training with the planner's error."""
    out: Dict = {'config': BUDGET_CFG}
    run_dir = osp.join(work_dir, 'budget', '1G')
    cmd = [sys.executable, 'tools/train.py', BUDGET_CFG, '--work-dir',
           run_dir, '--cfg-options', 'train_cfg.val_begin=100000']
    t0 = time.time()
    subprocess.run(cmd, cwd=ROOT, check=True)
    out['train_s'] = time.time() - t0
    scalars = sorted(glob.glob(osp.join(run_dir, '*', 'vis_data',
                                        'scalars.json')))[-1]
    rows = [json.loads(line) for line in open(scalars)]
    peaks = [(r['iter'], r['memory/peak_mb']) for r in rows
             if 'memory/peak_mb' in r]
    out['peaks_mb'] = peaks
    out['k'] = [r.get('patches_per_iter') for r in rows
                if 'patches_per_iter' in r]
    log = sorted(glob.glob(osp.join(run_dir, '*', '*.log')))[-1]
    plan = [line.split(' - ')[-1].strip() for line in open(log)
            if 'memory plan' in line.lower()]
    out['plan'] = plan[-1] if plan else None
    small = subprocess.run(
        [sys.executable, 'tools/train.py', BUDGET_CFG, '--work-dir',
         osp.join(work_dir, 'budget', 'too_small'), '--cfg-options',
         'model.patch_cfg.memory_budget=300M'],
        cwd=ROOT, capture_output=True, text=True)
    errors = [line for line in small.stderr.splitlines()
              if 'BudgetError' in line]
    out['too_small'] = dict(returncode=small.returncode,
                            error=errors[-1] if errors else None,
                            trained=any('Iter(train)' in line
                                        for line in small.stdout.splitlines()
                                        + small.stderr.splitlines()))
    with open(osp.join(work_dir, 'budget.json'), 'w') as f:
        json.dump(out, f, indent=2)
    return out


def pictures(work_dir: str) -> List[str]:
    """Whole-image predictions drawn by mmdet's / mmseg's visualizers."""
    made = []
    for name, runs in (('det', ('patchgd', 'downsampled')),
                       ('seg', ('patchgd', 'downsampled'))):
        for run in runs:
            run_dir = osp.join(work_dir, name, run)
            result = osp.join(run_dir, 'experiment.json')
            if not osp.exists(result):
                continue
            cfg = json.load(open(result))['config']
            ckpts = sorted(glob.glob(osp.join(run_dir, '*.pth')),
                           key=osp.getmtime)
            if not ckpts:
                continue
            show = osp.join(run_dir, 'show')
            # mmseg's SegVisualizationHook draws every 50th image by default
            # mmdet's DetVisualizationHook draws boxes scoring >= 0.3; these
            # short CPU runs rarely reach it, so draw from 0.1
            extra = ['--cfg-options',
                     'default_hooks.visualization.interval=1'
                     if name == 'seg' else
                     'default_hooks.visualization.score_thr=0.1']
            subprocess.run([sys.executable, 'tools/test.py', cfg, ckpts[-1],
                            '--work-dir', osp.join(run_dir, 'test'),
                            '--show-dir', show, *extra], cwd=ROOT, check=True)
            drawn = sorted(glob.glob(osp.join(show, '**', '*.png'),
                                     recursive=True)) + sorted(
                glob.glob(osp.join(run_dir, 'test', '**', 'show', '**',
                                   '*.png'), recursive=True))
            if drawn:
                dst = osp.join(IMAGES, f'pred_{name}_{run}.png')
                _shrink(drawn[0], dst)
                made.append(dst)
    return made


def _shrink(src: str, dst: str, side: int = 1024) -> None:
    import cv2
    img = cv2.imread(src)
    scale = side / max(img.shape[:2])
    if scale < 1:
        img = cv2.resize(img, None, fx=scale, fy=scale,
                         interpolation=cv2.INTER_AREA)
    os.makedirs(osp.dirname(dst), exist_ok=True)
    cv2.imwrite(dst, img)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--work-dir', default='work_dirs/benchmarks')
    parser.add_argument('--only', nargs='+',
                        default=['det', 'seg', 'cls', 'memory', 'budget',
                                 'pictures'],
                        help="sections to run; 'page' alone rewrites "
                        'docs/benchmarks.md from the saved results')
    parser.add_argument('--memory-runs', nargs='+', choices=list(MEMORY_RUNS),
                        help='with --only memory: rerun only these '
                        '(default: all)')
    parser.add_argument('--det-iters', type=int, default=360)
    parser.add_argument('--seg-iters', type=int, default=120)
    parser.add_argument('--cls-iters', type=int, default=300)
    args = parser.parse_args()
    work = osp.abspath(args.work_dir)
    os.makedirs(work, exist_ok=True)
    os.makedirs(IMAGES, exist_ok=True)
    os.chdir(ROOT)
    sections = {
        'det': lambda: compare(
            'det', 'configs/det/fcos_patchgd_ultradigits.py', {
                'downsampled FCOS (256 px)':
                'configs/det/baselines/fcos_downsampled_ultradigits.py'
            }, args.det_iters, work),
        'seg': lambda: compare(
            'seg', 'configs/seg/unet_patchgd_ultradigits.py', {
                'downsampled U-Net (128 px)':
                'configs/seg/baselines/unet_downsampled_ultradigits.py'
            }, args.seg_iters, work),
        'cls': lambda: (cls_inputs(), compare(
            'cls', 'configs/cls/resnet_patchgd_ultradigits.py', {
                'downsampled ResNet (296 px)':
                'configs/cls/baselines/resnet_downsampled_ultradigits.py',
                'PatchGD without global patch': 'configs/cls/baselines/'
                'resnet_patchgd_noglobal_ultradigits.py',
            }, args.cls_iters, work)),
        'memory': lambda: memory(work, args.memory_runs),
        'budget': lambda: budget(work),
        'pictures': lambda: pictures(work),
    }
    # wall time of each section, kept across --only runs for the page
    timings_path = osp.join(work, 'timings.json')
    timings = _load(work, 'timings') or {}
    for name, run in sections.items():
        if name in args.only:
            t0 = time.time()
            result = run()
            if name == 'memory' and not args.memory_runs:
                with open(osp.join(work, 'memory.json'), 'w') as f:
                    json.dump(result, f, indent=2)
            # a partial memory run is timed under its own name
            key = name if not (name == 'memory' and args.memory_runs) else (
                f'memory ({", ".join(args.memory_runs)})')
            timings[key] = dict(seconds=time.time() - t0,
                                 date=time.strftime('%Y-%m-%d %H:%M'),
                                 # the thread limit the runs inherit
                                 threads=os.environ.get('OMP_NUM_THREADS'))
            with open(timings_path, 'w') as f:
                json.dump(timings, f, indent=2)
    write_page(work)
    print(f'wrote {DOC}')


# --------------------------------------------------------------------- page
def _load(work: str, name: str) -> Optional[Dict]:
    path = osp.join(work, f'{name}.json')
    return json.load(open(path)) if osp.exists(path) else None


def _table(runs: Dict, keys: List[tuple]) -> str:
    head = '| method | ' + ' | '.join(k for k, _ in keys) + \
        ' | iterations | train time (s) | peak train memory (MiB) |'
    lines = [head, '|' + ' --- |' * (len(keys) + 4)]
    for label, r in runs.items():
        m = r['metrics']
        vals = ' | '.join(
            f'{m[k]:.3f}' if isinstance(m.get(k), float) else '—'
            for _, k in keys)
        lines.append(f'| {label} | {vals} | {r["iters"]} | '
                     f'{r["train_s"]:.0f} | {r["peak_train_mb"]:.0f} |')
    return '\n'.join(lines)


def _reading(runs: Dict, key: str, name: str) -> str:
    """One sentence on who leads ``runs`` by ``metrics[key]``."""
    scores = {label: r['metrics'].get(key) for label, r in runs.items()}
    scores = {k: v for k, v in scores.items() if isinstance(v, float)}
    if not scores:
        return ''
    best = max(scores, key=scores.get)
    others = ', '.join(f'{label} {v:.3g}' for label, v in scores.items()
                       if label != best)
    ahead = all(scores[best] > v for k, v in scores.items() if k != best)
    return (f'By {name}, {best} is {"ahead" if ahead else "level"} '
            f'({scores[best]:.3g}; {others}).')


def _growth(records: List[Dict], small: int = 2048,
            large: int = 4096) -> Optional[str]:
    """How ours grows from ``small`` to ``large`` px, against Z's growth."""
    ours = {r['size']: r for r in records
            if r['method'] == 'ours' and r['status'] == 'ok'}
    if small not in ours or large not in ours:
        return None
    a, b = ours[small], ours[large]
    if not all(isinstance(r.get(k), (int, float)) for r in (a, b)
               for k in ('peak_train_mb', 'latent_mb', 'fixed_mb')):
        return None
    peak = b['peak_train_mb'] - a['peak_train_mb']
    z = b['latent_mb'] - a['latent_mb']
    fixed = b['fixed_mb'] - a['fixed_mb']
    step = peak - fixed
    mapped = a.get('image_source') == 'mapped'
    held = ('the images are memory-mapped and read patch by patch, so what '
            'is live before the step (`fixed_mb`: weights, optimizer state, '
            'the batch\'s zero-channel stand-ins) grows by '
            if mapped else
            'live before the step starts (`fixed_mb`: the loaded uint8 '
            'batch, 3 bytes per pixel; weights and optimizer state do not '
            'change) grows by ')
    return (f'From {small}² to {large}² (k = {a.get("k")}), ours grows by '
            f'{peak:.1f} MiB and Z by {z:.1f} MiB; {held}{fixed:.1f} MiB and '
            f'the step itself by {step:.1f} MiB, {step / z:.2f}× Z\'s '
            f'growth. Peak growth within 1.1 × Z\'s growth '
            f'({1.1 * z:.1f} MiB): **{peak <= 1.1 * z}**.')


def _memory_table(records: List[Dict]) -> str:
    lines = ['| method | size | patch | k | peak train (MiB) | '
             'peak inference (MiB) | step (s) | inference (s) | status |',
             '| --- | --- | --- | --- | --- | --- | --- | --- | --- |']
    for r in records:
        def f(key, fmt='{:.0f}'):
            v = r.get(key)
            return fmt.format(v) if isinstance(v, (int, float)) else '—'
        lines.append(
            f'| {r["method"]} | {r["size"]} | {r.get("patch") or "—"} | '
            f'{r.get("k") or "—"} | {f("peak_train_mb")} | '
            f'{f("peak_infer_mb")} | {f("step_s", "{:.1f}")} | '
            f'{f("infer_s", "{:.1f}")} | {r["status"]} |')
    return '\n'.join(lines)


def write_page(work: str) -> None:
    timings = _load(work, 'timings') or {}
    took = ', '.join(
        f'{name} {t["seconds"] / 60:.0f} min' +
        (f' (OMP_NUM_THREADS={t["threads"]})' if t.get('threads') else '')
        for name, t in timings.items())
    total = sum(t['seconds'] for t in timings.values()) / 60
    parts = [
        '# Benchmarks', '',
        'Everything on this page was produced by one command on a 2-core '
        'CPU machine (no GPU), run whole or by sections:', '', '```bash',
        'make benchmarks   # python tools/run_benchmarks.py '
        '[--only det seg cls memory budget pictures]', '```', '',
        f'Page written {time.strftime("%Y-%m-%d")}. The sections took '
        f'{total:.0f} min in all ({took}); each can be rerun on its own '
        'with `--only`, and the page is rewritten from every section\'s '
        'saved results. ' +
        'Raw results: `work_dirs/benchmarks/*.json`. Peak memory is '
        'measured by `mmpatch.engine.memory.MemoryMeter` (live tensor bytes '
        'on CPU, see [memory.md](memory.md)). Accuracy runs train PatchGD '
        'for a fixed number of iterations and each baseline for the same '
        'wall-clock time, then score all of them on the same whole test '
        'images (UltraDigits: 16 canvases of 1024x1024; UltraDigits-cls: '
        '64).', '',
        '**How to read the accuracy tables.** These runs last minutes on a '
        'CPU, and equal wall-clock time gives each baseline as many more '
        'optimizer steps as its step is cheaper (the tables give the '
        'iterations). Detection and segmentation train from scratch; the '
        'classifiers start from the same locally pretrained backbone '
        '(`tools/pretrain_digits.py`, as the paper starts from ImageNet '
        'weights). None of this is the accuracy PatchGD reaches with a '
        'full schedule on an accelerator. The sentence under each table is '
        'written from its numbers.', ''
    ]
    det = _load(work, 'det')
    if det:
        parts += ['## Detection: FCOS on UltraDigits', '',
                  '`configs/det/fcos_patchgd_ultradigits.py` against '
                  '`configs/det/baselines/fcos_downsampled_ultradigits.py` '
                  '(the '
                  'same narrow FCOS on canvases downsampled to the 256 px '
                  'patch size). COCO metrics on the whole test canvases:', '',
                  _table(det, [('AP', 'coco/bbox_mAP'),
                               ('AP50', 'coco/bbox_mAP_50'),
                               ('AP_small', 'coco/bbox_mAP_s'),
                               ('AP_medium', 'coco/bbox_mAP_m')]), '',
                  _reading(det, 'coco/bbox_mAP', 'AP'), '']
    seg = _load(work, 'seg')
    if seg:
        for label, r in seg.items():
            r['metrics'].update({f'stroke_{k}': v / 100 for k, v in
                                 stroke_scores(r['work_dir']).items()})
            if 'mIoU' in r['metrics']:  # mmseg reports percent
                r['metrics']['mIoU_frac'] = r['metrics']['mIoU'] / 100
        parts += ['## Segmentation: U-Net on UltraDigits strokes', '',
                  '`configs/seg/unet_patchgd_ultradigits.py` against '
                  '`configs/seg/baselines/unet_downsampled_ultradigits.py` '
                  '(the '
                  'same U-Net trained and inferred at the 128 px patch size, '
                  'masks upsampled to the original 1024 px for scoring; '
                  'PatchGD sees the canvases at 512 px):', '',
                  _table(seg, [('mIoU', 'mIoU_frac'), ('stroke IoU', 'stroke_IoU'),
                               ('stroke Dice', 'stroke_Dice'),
                               ('stroke F1', 'stroke_Fscore')]), '',
                  _reading(seg, 'mIoU_frac', 'mIoU'), '']
    cls = _load(work, 'cls')
    if cls:
        parts += ['## Classification: UltraDigits-cls', '',
                  '`configs/cls/resnet_patchgd_ultradigits.py` against '
                  '`configs/cls/baselines/resnet_downsampled_ultradigits.py` '
                  '(the stock classifier at 296 px, the largest side that '
                  'fits the same memory) and '
                  '`configs/cls/baselines/'
                  'resnet_patchgd_noglobal_ultradigits.py` '
                  '(PatchGD without the global patch). The 4 classes name a '
                  'large 6 or 9 (300-400 px), which spans 3-4 patches, and '
                  'a lattice of several hundred small 8-10 px digits, all 0 '
                  'or all 8, drawn with the same ink, centroid and spread '
                  'so that only their shape tells them apart (data: '
                  '`python tools/make_ultradigits_cls.py`, 256 training and '
                  '64 test canvases of 1024 px; see '
                  '`mmpatch/datasets/ultradigits_cls.py`). All three start '
                  'from the same backbone weights, made by '
                  '`python tools/pretrain_digits.py` on digit crops of the '
                  'training share of the digits. Top-1 accuracy on the 64 '
                  'test canvases:', '',
                  _table(cls, [('top-1 accuracy (%)', 'accuracy/top1')]), '',
                  _reading(cls, 'accuracy/top1', 'top-1 accuracy'), '']
    mem = {
        name: records
        for name in MEMORY_RUNS
        for records in [_load(work, f'memory_{name}')] if records
    }
    if mem:
        parts += ['## Memory against image size', '',
                  'One training step and one inference per size, each in a '
                  'fresh process (`tools/benchmark_memory.py`); the '
                  'baseline is the same network as a stock model on the '
                  'whole image. "oom" means it did not fit the 20 GiB limit '
                  'given to each run.', '']
        titles = {'fcos_r50': 'FCOS ResNet-50 '
                  '(`configs/det/fcos_patchgd_sodad.py`: '
                  '512 px patches, towers in θ1, latent 16, `with_cp`; one '
                  'inner iteration of k = 1 patch). The full baseline is the '
                  'same network, backbone `with_cp` included',
                  'fcos_r50_stock': 'The same, against the stock mmdet '
                  'FCOS-R50 (no activation checkpointing)',
                  'fcos_r50_mapped': 'The same PatchGD step with the image '
                  'memory-mapped (`--image-source mapped`: what a '
                  '`LoadLazyImage` pipeline gives, docs/memory.md); ours '
                  'only, the full baseline needs the whole image',
                  'ultradigits_det': 'Narrow FCOS '
                  '(`configs/det/fcos_patchgd_ultradigits.py`, 256 px '
                  'patches)',
                  'unet_seg': 'U-Net '
                  '(`configs/seg/unet_patchgd_ultradigits.py`, '
                  '128 px patches)'}
        for name, records in mem.items():
            parts += [f'### {titles.get(name, name)}', '',
                      f'![memory](images/memory_{name}.png)', '',
                      _memory_table(records), '']
            growth = _growth(records) if name in (
                'fcos_r50', 'fcos_r50_mapped') else None
            if growth:
                parts += [growth, '']
    bud = _load(work, 'budget')
    if bud:
        peaks = [p for _, p in bud['peaks_mb']]
        small = bud['too_small']
        parts += ['## Training under a memory budget', '',
                  f'`{bud["config"]}`: FCOS-R50 PatchGD on UltraDigits '
                  "canvases at 2048 px with `memory_budget='1G'` and "
                  "`patches_per_iter='auto'`. LatentBufferHook measured trial "
                  'steps on the first batch and logged:', '',
                  f'> {bud["plan"]}', '',
                  f'Logged `memory/peak_mb` of each of the {len(peaks)} '
                  f'iterations: max {max(peaks):.0f} MiB, min '
                  f'{min(peaks):.0f} MiB (budget 1024 MiB); all under the '
                  f'budget: {all(p <= 1024 for p in peaks)}. '
                  f'{bud["train_s"]:.0f} s in all, trial steps included.', '',
                  'With `model.patch_cfg.memory_budget=300M` the run stopped '
                  f'before training (exit code {small["returncode"]}, any '
                  f'training iteration logged: {small["trained"]}):', '',
                  f'> {small["error"]}', '']
    pics = sorted(glob.glob(osp.join(IMAGES, 'pred_*.png')))
    if pics:
        parts += ['## Predictions on a whole test canvas', '',
                  'Drawn by mmdet\'s `DetLocalVisualizer` and mmseg\'s '
                  '`SegLocalVisualizer` through `tools/test.py --show-dir` '
                  '(left: ground truth, right: prediction; boxes scoring at '
                  'least 0.1):', '']
        for p in pics:
            parts += [f'**{osp.basename(p)[5:-4]}**', '',
                      f'![{osp.basename(p)}](images/{osp.basename(p)})', '']
    with open(DOC, 'w') as f:
        f.write('\n'.join(parts) + '\n')


if __name__ == '__main__':
    main()
