"""The detection section: the comparison of issue #20, run by
``tools/analysis_tools/det_comparison.py --work-dir WORK/det --seeds ...``
(UltraDigits-scales, ``make data-scales``). It writes
``det_comparison.{json,md}`` (the table, mean ± std over seeds),
``time_to_accuracy.png`` and ``predictions.png`` into its work folder; the
page includes the markdown and the two pictures (copied into the images
folder). While that tool or its data is absent the section is skipped with
a line saying so; the small UltraDigits comparison is ``det-demo``
(:mod:`.tasks`)."""
import json
import os
import os.path as osp
import shutil
from typing import Dict, List

import numpy as np

from .common import ROOT, Context, not_run, run_tool, save

TOOL = 'tools/analysis_tools/det_comparison.py'
DATA = 'data/ultradigits_scales/annotations/instances_test.json'
#: the pictures det_comparison.py draws -> their names in the images folder
PICTURES = {'time_to_accuracy.png': 'det_time_to_accuracy.png',
            'predictions.png': 'det_predictions.png'}
#: the page's comparison: ours (full gradient, sampled, without the global
#: patch) and the two equal-memory baselines; full-image FCOS (unbounded
#: memory, ``--methods full``) is left out to keep make benchmarks near 3 h
FULL = ['--epochs', '6', '--methods', 'ours_full', 'ours', 'ours_noglobal',
        'downsampled', 'crop']
#: the smoke run: one epoch on two canvases, scored on one
SMOKE = ['--epochs', '1', '--train-images', '2', '--max-val', '1',
         '--max-test', '1', '--timing-images', '1', '--methods', 'ours',
         'ours_full', 'downsampled']


def run(ctx: Context) -> Dict:
    for need, why in ((TOOL, 'issue #20'), (DATA, 'make data-scales')):
        if not osp.exists(osp.join(ROOT, need)):
            print(f'det: skipped: {need} does not exist ({why}); '
                  '--only det-demo runs the small UltraDigits comparison')
            return save(ctx, 'det', dict(skipped=f'{need} is missing'))
    work = ctx.path('det')
    run_tool(ctx, TOOL, '--work-dir', work, '--seeds',
             *map(str, ctx.seeds), '--jobs', str(ctx.jobs),
             *(SMOKE if ctx.smoke else FULL))
    return save(ctx, 'det', dict(work_dir=work, seeds=list(ctx.seeds),
                                 smoke=ctx.smoke))


def render(ctx: Context) -> Dict[str, str]:
    table = ctx.path('det', 'det_comparison.md')
    if not osp.exists(table):
        if not osp.exists(osp.join(ROOT, TOOL)):
            return {'det': f'*Not measured yet: `{TOOL}` (issue #20) is not '
                    'in this checkout.*'}
        return {'det': not_run('det')}
    parts = [open(table).read().strip()]
    results = ctx.path('det', 'det_comparison.json')
    if osp.exists(results):
        with open(results) as f:
            parts += [''] + sentences(json.load(f)['methods'])
    os.makedirs(ctx.images, exist_ok=True)
    for src, dst in PICTURES.items():
        if osp.exists(ctx.path('det', src)):
            shutil.copyfile(ctx.path('det', src), ctx.image(dst))
            parts += ['', f'![{dst[4:-4]}]({ctx.link(ctx.image(dst))})']
    return {'det': '\n'.join(parts)}


#: the page's claims (issue #20): (ours, baseline, bucket) pairs
CLAIMS = [('ours_full', 'downsampled', 'tiny'), ('ours_full', 'crop', 'huge'),
          ('ours_noglobal', 'ours_full', 'huge')]
#: the ablations read bucket by bucket against the leading row
ABLATIONS = [('ours_noglobal', 'ours_full'), ('ours', 'ours_full')]
BUCKETS = ('tiny', 'medium', 'huge')


def _mean(values: List[float]) -> float:
    # numpy's mean, as det_comparison.py's table, so both round alike
    return float(np.mean(values))


def sentences(methods: Dict[str, dict]) -> List[str]:
    """What the table says, written from its numbers (mean over seeds of
    ``det_comparison.json``'s per-method scores): each structural claim of
    ours against the baseline it is about and the overall leader; then,
    where the runs are recorded, the ablations bucket by bucket, the
    training seconds and whether the validation curves still rose."""
    def score(method: str, key: str) -> float:
        return _mean(methods[method][f'coco/bbox_{key}'])

    out = []
    for ours, other, bucket in CLAIMS:
        if ours not in methods or other not in methods:
            continue
        a, b = score(ours, f'AP_{bucket}'), score(other, f'AP_{bucket}')
        out.append(f'On the {bucket} bucket, {methods[ours]["label"]} '
                   f'{"is ahead of" if a > b else "is not ahead of"} '
                   f'{methods[other]["label"]} ({a:.3f} against {b:.3f}).')
    best = max(methods, key=lambda m: score(m, 'mAP'))
    out.append(f'By AP over all sizes, {methods[best]["label"]} leads '
               f'({score(best, "mAP"):.3f}).')
    paragraphs = [' '.join(out)]
    more = [ablation(methods, a, b, score) for a, b in ABLATIONS
            if a in methods and b in methods
            and all(f'coco/bbox_AP_{k}' in methods[m]
                    for m in (a, b) for k in BUCKETS)]
    if all(m.get('runs') for m in methods.values()):
        more += timing(methods)
    if more:
        paragraphs += ['', ' '.join(more)]
    return paragraphs


def ablation(methods: Dict[str, dict], row: str, ref: str, score) -> str:
    """``row`` against ``ref`` on every bucket: 'tiny 0.015 against 0.007'."""
    pairs = ', '.join(f'{k} {score(row, f"AP_{k}"):.3f} against '
                      f'{score(ref, f"AP_{k}"):.3f}' for k in BUCKETS)
    return (f'{methods[row]["label"]} against {methods[ref]["label"]}: '
            f'{pairs}.')


def timing(methods: Dict[str, dict]) -> List[str]:
    """Training seconds per method (mean over seeds, one thread each) and
    the methods whose mean validation AP still rose over the last interval."""
    secs = {m: _mean([r['train_s'] for r in v['runs']])
            for m, v in methods.items()}
    order = sorted(secs, key=secs.get)
    out = ['Per unit of time: the same epochs took ' + ', '.join(
        f'{secs[m]:.0f} s ({methods[m]["label"]})' for m in order) + '.']
    rising = []
    for m, v in methods.items():
        curves = [r['curve'] for r in v['runs'] if len(r.get('curve', [])) > 1]
        if curves and _mean([c[-1]['coco/bbox_mAP'] - c[-2]['coco/bbox_mAP']
                             for c in curves]) > 0:
            rising.append(v['label'])
    if rising:
        out.append('Validation AP still rose over the last epoch for '
                   f'{len(rising)} of {len(methods)} methods '
                   f'({", ".join(rising)}): the table compares equal '
                   'epochs, not converged models.')
    return out
