"""The accuracy sections: UltraDigits detection (``det-demo``),
segmentation (``seg``) and classification (``cls``), each with the
sampled PatchGD config, its full-gradient variant at the same memory and
the baselines, trained for the same number of epochs over 3 seeds.

The schedule, and the arithmetic that sized it for a ~3 h
``make benchmarks`` on 2 cores (two single-thread runs at a time). The
seconds per iteration are each config's training step at its training
size and batch, one thread, without the memory meter: the process CPU
time of ``benchmark_memory.py --steps 5 --threads 1`` (steady on a shared
machine; the short training runs' fastest iterations agreed within ~5 %
once their load was accounted for). An epoch is ``ceil(train images /
batch)`` iterations: 64 / 2 = 32 (UltraDigits), 256 / 4 = 64 (-cls).

=========  ==========================  =========================  ========
task       s / iteration (rows)        one epoch, one seed        schedule
=========  ==========================  =========================  ========
det-demo   1.71 + 2.06 + 0.11          32 x 3.88 = 124 s           5 epochs
seg        4.45 + 3.79 + 0.17          32 x 8.41 = 269 s           2 epochs
cls        0.71 + 2.04 + 0.12 + 0.61   64 x 3.48 = 223 s           3 epochs
=========  ==========================  =========================  ========

Per run add ~15 s of start-up, the validations (16 canvases; seg also
recomputes θ1's BatchNorm statistics from 32 batches before each, ~10 s)
and the test (16 canvases; UltraDigits-cls: 256, ~40 s). Three seeds on
two cores take 1.5x one seed's sum:

* seg: (2 x 269 + 3 x (15 + 4 x 12 + 10)) x 1.5 = (538 + 219) x 1.5
  = 1136 s, ~19 min;
* cls: (3 x 223 + 4 x (15 + 6 x 3 + 40)) x 1.5 = (669 + 292) x 1.5
  = 1441 s, ~24 min;
* det-demo (opt-in, ``--only det-demo``; the detection comparison of
  ``det`` replaces it in the default run): (5 x 124 + 3 x (15 + 5 x 10 +
  10)) x 1.5 = (620 + 225) x 1.5 = 1268 s, ~21 min.

With ``det`` (~90 min), ``memory`` (~40), ``budget`` (~12), ``time``
(~10) and ``pictures`` (~3) the default run is ~200 min. ``--epochs
seg=4`` (etc.) lengthens a task; the curves on the page say whether it
had flattened.
"""
import glob
import os.path as osp
import re
from typing import Dict

from .accuracy import (Row, Task, aggregate, load_task, reading, run_task,
                       schedule_text, table)
from .common import Context, load, not_run
from .curves import plot_curves


def stroke_scores(result: dict) -> Dict[str, float]:
    """Test IoU / Dice / F-score of the stroke class (mmseg's per-class
    table in the run's log; the last one is the test's), as fractions."""
    logs = sorted(glob.glob(osp.join(result['work_dir'], '*', '*.log')))
    scores: Dict[str, float] = {}
    for log in logs:
        text = open(log).read()
        header = re.findall(r'^\|\s*Class\s*\|(.*)\|\s*$', text, re.M)
        rows = re.findall(r'^\|\s*stroke\s*\|(.*)\|\s*$', text, re.M)
        if header and rows:
            names = [h.strip() for h in header[-1].split('|')]
            values = [float(v) for v in rows[-1].split('|')]
            scores = dict(zip(names, values))
    out = {f'stroke_{k}': v / 100 for k, v in scores.items()}
    if 'mIoU' in result['metrics']:  # mmseg reports percent
        out['mIoU_frac'] = result['metrics']['mIoU'] / 100
    return out


TASKS = {
    'det-demo': Task(
        name='det-demo',
        rows=[
            Row('patchgd', 'PatchGD + global (ours)',
                'configs/det/fcos_patchgd_ultradigits.py', 1.71),
            Row('full', 'full gradient (ours)',
                'configs/det/fcos_patchgd_ultradigits_full.py', 2.06),
            Row('downsampled', 'downsampled FCOS (256 px)',
                'configs/det/baselines/fcos_downsampled_ultradigits.py',
                0.11),
        ],
        epochs=5, val_every=1,
        metrics=[('AP', 'coco/bbox_mAP'), ('AP50', 'coco/bbox_mAP_50'),
                 ('AP_small', 'coco/bbox_mAP_s'),
                 ('AP_medium', 'coco/bbox_mAP_m')]),
    'seg': Task(
        name='seg',
        rows=[
            Row('patchgd', 'PatchGD + global (ours)',
                'configs/seg/unet_patchgd_ultradigits.py', 4.45),
            Row('full', 'full gradient (ours)',
                'configs/seg/unet_patchgd_ultradigits_full.py', 3.79),
            Row('downsampled', 'downsampled U-Net (128 px)',
                'configs/seg/baselines/unet_downsampled_ultradigits.py',
                0.17),
        ],
        epochs=2, val_every=0.5,
        metrics=[('mIoU', 'mIoU_frac'), ('stroke IoU', 'stroke_IoU'),
                 ('stroke Dice', 'stroke_Dice'),
                 ('stroke F1', 'stroke_Fscore')],
        val_metric='mIoU', val_scale=0.01, extra=stroke_scores),
    'cls': Task(
        name='cls',
        rows=[
            Row('patchgd', 'PatchGD + global (ours)',
                'configs/cls/resnet_patchgd_ultradigits.py', 0.71),
            Row('full', 'full gradient (ours)',
                'configs/cls/resnet_patchgd_ultradigits_full.py', 2.04),
            Row('downsampled', 'downsampled ResNet (296 px)',
                'configs/cls/baselines/resnet_downsampled_ultradigits.py',
                0.12),
            Row('noglobal', 'PatchGD without global patch',
                'configs/cls/baselines/'
                'resnet_patchgd_noglobal_ultradigits.py', 0.61),
        ],
        epochs=3, val_every=0.5,
        metrics=[('top-1 accuracy (%)', 'accuracy/top1')], digits=1),
}
#: the headline metric's name in sentences
NAMES = {'det-demo': 'AP', 'seg': 'mIoU', 'cls': 'top-1 accuracy'}


def cls_inputs(ctx: Context) -> None:
    """UltraDigits-cls and the pretrained backbone the classifiers load
    (each tool skips work that is already done)."""
    from .common import ROOT, run_tool
    run_tool(ctx, 'tools/make_ultradigits_cls.py', '--out',
             'data/ultradigits_cls')
    if not osp.exists(osp.join(ROOT, 'checkpoints', 'resnet18n_digits.pth')):
        run_tool(ctx, 'tools/pretrain_digits.py', '--out',
                 'checkpoints/resnet18n_digits.pth')


def run(ctx: Context, name: str) -> dict:
    if name == 'cls' and not ctx.smoke:
        cls_inputs(ctx)
    return run_task(ctx, TASKS[name])


def peaks(ctx: Context) -> Dict[str, float]:
    """Each config's measured training peak at its training size and batch
    (the ``time`` section's records), by config."""
    out = {}
    for records in (load(ctx, 'time') or {}).values():
        for rec in records:
            if rec.get('peak_train_mb') and rec['method'] == 'ours':
                out[rec['config']] = rec['peak_train_mb']
    return out


def render(ctx: Context, name: str) -> Dict[str, str]:
    """``<name>_schedule``, ``<name>_results`` (table, reading, curves)."""
    key = name.replace('-', '_')
    task = TASKS[name]
    result = load_task(ctx, task)
    if not result or not any(result['runs'].values()):
        return {f'{key}_schedule': 'not run yet',
                f'{key}_results': not_run(name)}
    rows = aggregate(result, task.metrics, task.val_metric)
    known = peaks(ctx)
    for row in rows.values():
        row['peak_train_mb'] = row['peak_train_mb'] or known.get(
            row['config'])
    word = NAMES[name]
    parts = [table(rows, task.metrics, task.digits, task.val_scale), '',
             reading(rows, task.primary[1], word, task.digits)]
    image = plot_curves(result, task.val_metric, word,
                        ctx.image(f'curve_{key}.png'),
                        f'{name}: validation {word}, mean of the seeds',
                        task.val_scale)
    if image:
        parts += ['', f'![validation curves]({ctx.link(image)})']
    return {f'{key}_schedule': schedule_text(result, task),
            f'{key}_results': '\n'.join(parts)}
