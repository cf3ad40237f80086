"""The accuracy sections: UltraDigits detection (``det-demo``),
segmentation (``seg``) and classification (``cls``), each with the
sampled PatchGD config, its full-gradient variant at the same memory and
the baselines, trained for the same number of epochs over 3 seeds.

The schedule, and the arithmetic that sized it for a ~3 h
``make benchmarks`` on 2 cores (two single-thread runs at a time). Seconds
per iteration: each config's fastest of 8 training iterations as the
accuracy runs train (one thread, no memory meter, the first 16 training
images), measured here on 2026-12-04 with the machine nearly idle (they
agree within 5 % with the process CPU time of ``benchmark_memory.py
--steps 5 --threads 1`` taken earlier under load). An epoch is
``ceil(train images / batch)`` iterations: 64 / 2 = 32 (UltraDigits),
256 / 4 = 64 (UltraDigits-cls).

========  =========================  ==========================  =========
task      s / iteration (rows)       one epoch, one seed         schedule
========  =========================  ==========================  =========
det-demo  1.69 + 2.02 + 0.14         32 x 3.85 = 123 s           5 epochs
seg       4.43 + 3.86 + 0.21         32 x 8.50 = 272 s           4 epochs
cls       0.70 + 1.99 + 0.12 + 0.60  64 x 3.41 = 218 s           2 epochs
========  =========================  ==========================  =========

Per run add ~30 s of start-up and test (UltraDigits-cls: 256 test
canvases, ~55 s) and the validations on 16 canvases: ~12 s each (seg), ~4
s (cls), ~10 s (det); seg's two PatchGD rows also recompute θ1's
BatchNorm statistics from 32 training batches before each (precise BN,
measured 55 s). Three seeds on two cores take 1.5x one seed's sum:

* seg, validation every epoch (4 points):
  (4 x 272 + 2 x 4 x (55 + 12) + 4 x 12 + 3 x 30) x 1.5
  = (1088 + 536 + 48 + 90) x 1.5 = 2643 s, ~44 min (measured 2026-12-05
  at 2 epochs: 26 min, when two of the three seeds of every row still
  predicted no stroke at all: hence 4);
* cls, validation every 0.5 epoch: (2 x 218 + 4 x 4 x 4 + 4 x 55) x 1.5
  = (436 + 64 + 220) x 1.5 = 1080 s, ~18 min;
* det-demo (opt-in, ``--only det-demo``; the detection comparison of
  ``det`` replaces it in the default run), validation every epoch:
  (5 x 123 + 3 x 5 x 10 + 3 x 30) x 1.5 = (615 + 150 + 90) x 1.5
  = 1283 s, ~21 min.

With ``det`` (~60 min, measured), ``memory`` (~40), ``budget`` (~10),
``time`` (~11) and ``pictures`` (~2) the default run is ~185 min on a
quiet machine, of which these two tasks are 62 (cls measured 16 min on
2026-12-05). They are short of convergence: ``--epochs seg=6 cls=4``
(etc.) lengthens them, at the cost above per epoch, and the curves on the
page say whether they had flattened.
"""
import glob
import math
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
    # no stroke pixel predicted: mmseg's precision, hence F-score, is nan
    # (0 / 0), but F1 = 2TP / (2TP + FP + FN) is 0 there, as IoU and Dice
    if out.get('stroke_IoU') == 0 and math.isnan(
            out.get('stroke_Fscore', 0.0)):
        out['stroke_Fscore'] = 0.0
    if 'mIoU' in result['metrics']:  # mmseg reports percent
        out['mIoU_frac'] = result['metrics']['mIoU'] / 100
    return out


TASKS = {
    'det-demo': Task(
        name='det-demo',
        rows=[
            Row('patchgd', 'PatchGD + global (ours)',
                'configs/det/fcos_patchgd_ultradigits.py', 1.69),
            Row('full', 'full gradient (ours)',
                'configs/det/fcos_patchgd_ultradigits_full.py', 2.02),
            Row('downsampled', 'downsampled FCOS (256 px)',
                'configs/det/baselines/fcos_downsampled_ultradigits.py',
                0.14),
        ],
        epochs=5, val_every=1,
        metrics=[('AP', 'coco/bbox_mAP'), ('AP50', 'coco/bbox_mAP_50'),
                 ('AP_small', 'coco/bbox_mAP_s'),
                 ('AP_medium', 'coco/bbox_mAP_m')]),
    'seg': Task(
        name='seg',
        rows=[
            Row('patchgd', 'PatchGD + global (ours)',
                'configs/seg/unet_patchgd_ultradigits.py', 4.43),
            Row('full', 'full gradient (ours)',
                'configs/seg/unet_patchgd_ultradigits_full.py', 3.86),
            Row('downsampled', 'downsampled U-Net (128 px)',
                'configs/seg/baselines/unet_downsampled_ultradigits.py',
                0.21),
        ],
        epochs=4, val_every=1,
        metrics=[('mIoU', 'mIoU_frac'), ('stroke IoU', 'stroke_IoU'),
                 ('stroke Dice', 'stroke_Dice'),
                 ('stroke F1', 'stroke_Fscore')],
        val_metric='mIoU', val_scale=0.01, extra=stroke_scores),
    'cls': Task(
        name='cls',
        rows=[
            Row('patchgd', 'PatchGD + global (ours)',
                'configs/cls/resnet_patchgd_ultradigits.py', 0.70),
            Row('full', 'full gradient (ours)',
                'configs/cls/resnet_patchgd_ultradigits_full.py', 1.99),
            Row('downsampled', 'downsampled ResNet (296 px)',
                'configs/cls/baselines/resnet_downsampled_ultradigits.py',
                0.12),
            Row('noglobal', 'PatchGD without global patch',
                'configs/cls/baselines/'
                'resnet_patchgd_noglobal_ultradigits.py', 0.60),
        ],
        epochs=2, val_every=0.5,
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
