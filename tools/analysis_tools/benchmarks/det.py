"""The detection section: the comparison of issues #20 and #30, run by
``tools/analysis_tools/det_comparison.py --work-dir WORK/det --results
docs/results/det_comparison --seeds ...`` (UltraDigits-scales, ``make
data-scales``). Each finished run is kept, committed, as
``docs/results/det_comparison/<method>/seed<k>.json``, and a run kept there
is not run again; the page's table, its reading and the time-to-accuracy
picture are written from those files only (``det_report.py``), the
predictions picture from the last run's work folder. While that tool or its
data is absent the section is skipped with a line saying so; the small
UltraDigits comparison is ``det-demo`` (:mod:`.tasks`)."""
import json
import os
import os.path as osp
import shutil
from typing import Dict, List

import numpy as np

from .common import PAGE, ROOT, Context, not_run, run_tool, save

TOOL = 'tools/analysis_tools/det_comparison.py'
#: the kept runs, committed: the page is rendered from them
RESULTS = osp.join(ROOT, 'docs', 'results', 'det_comparison')
DATA = 'data/ultradigits_scales/annotations/instances_test.json'
#: the pictures det_comparison.py draws -> their names in the images folder
PICTURES = {'time_to_accuracy.png': 'det_time_to_accuracy.png',
            'predictions.png': 'det_predictions.png'}
#: the page's comparison (issue #30): every method of det_comparison.py
#: (the rows, the full-image upper bound and the ablations), 12 epochs at
#: most; runs kept in docs/results/det_comparison/ are not run again
FULL = ['--epochs', '12']
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
    run_tool(ctx, TOOL, '--work-dir', work, '--results', results_dir(ctx),
             '--seeds', *map(str, ctx.seeds), '--jobs', str(ctx.jobs),
             *(SMOKE if ctx.smoke else FULL))
    return save(ctx, 'det', dict(work_dir=work, seeds=list(ctx.seeds),
                                 smoke=ctx.smoke))


def results_dir(ctx: Context) -> str:
    """The kept runs: committed for the page, in the work folder for a
    smoke run or a page written elsewhere."""
    return ctx.path('det', 'results') if ctx.page != PAGE else RESULTS


def render(ctx: Context) -> Dict[str, str]:
    from det_comparison import METHODS, current_runs  # beside this tool
    from det_report import summarize
    results = results_dir(ctx)
    runs = current_runs(results)
    if not runs:
        if not osp.exists(osp.join(ROOT, TOOL)):
            return {'det': f'*Not measured yet: `{TOOL}` (issue #20) is not '
                    'in this checkout.*'}
        return {'det': not_run('det')}
    parts = [summarize(runs, METHODS, results).strip()]
    with open(osp.join(results, 'det_comparison.json')) as f:
        parts += [''] + sentences(json.load(f)['methods'])
    os.makedirs(ctx.images, exist_ok=True)
    for src, dst in PICTURES.items():
        if osp.exists(osp.join(results, src)):
            shutil.copyfile(osp.join(results, src), ctx.image(dst))
        # the page's copy stays where the run's own is not kept (a fresh
        # clone: the predictions picture is drawn in the ignored folder)
        if osp.exists(ctx.image(dst)):
            parts += ['', f'![{dst[4:-4]}]({ctx.link(ctx.image(dst))})']
    return {'det': '\n'.join(parts)}


#: the page's claims (issues #20, #30): (ours, baseline, metric key)
CLAIMS = [('ours_full', 'downsampled', 'mAP'),
          ('ours_full', 'downsampled', 'AP_tiny'),
          ('ours_full', 'crop', 'mAP'), ('ours_full', 'crop', 'AP_huge'),
          ('ours_noglobal', 'ours_full', 'AP_huge')]
#: the ablations read bucket by bucket against the leading row (and every
#: method of det_comparison.py's ablation table)
ABLATIONS = [('ours_noglobal', 'ours_full'), ('ours', 'ours_full'),
             ('z8', 'ours_full'), ('z64', 'ours_full'),
             ('bn_train', 'ours_full'), ('concat', 'ours_full'),
             ('towers_all', 'ours_full')]
BUCKETS = ('tiny', 'medium', 'huge')


def _mean(values: List[float]) -> float:
    # numpy's mean, as det_comparison.py's table, so both round alike
    return float(np.mean(values))


def sentences(methods: Dict[str, dict]) -> List[str]:
    """What the table says, written from its numbers (mean and spread over
    seeds of ``det_comparison.json``'s per-method scores): ours against the
    unbounded full-image FCOS (AP and peak memory ratios), each structural
    claim of ours against the baseline it is about, whether the difference
    exceeds the seeds' spread, and the overall leader; then, where the
    runs are recorded, the ablations bucket by bucket and the training
    seconds."""
    def score(method: str, key: str) -> float:
        return _mean(methods[method][f'coco/bbox_{key}'])

    def spread(method: str, key: str) -> float:
        return float(np.std(methods[method][f'coco/bbox_{key}']))

    out = []
    if 'ours_full' in methods and 'full' in methods:
        ours, full = methods['ours_full'], methods['full']
        ratio = score('ours_full', 'mAP') / max(score('full', 'mAP'), 1e-9)
        out.append(f'{ours["label"]} reaches {ratio:.2f}x the AP of '
                   f'{full["label"]} ({score("ours_full", "mAP"):.3f} '
                   f'against {score("full", "mAP"):.3f})')
        if all(m.get('runs') for m in (ours, full)):
            peak = [_mean([r['peak_train_mb'] for r in m['runs']])
                    for m in (ours, full)]
            out[-1] += (f' at {peak[0] / peak[1]:.2f}x its measured '
                        f'training peak ({peak[0]:.0f} against '
                        f'{peak[1]:.0f} MiB)')
        out[-1] += '.'
    for a, b, key in CLAIMS:
        if a not in methods or b not in methods:
            continue
        x, y = score(a, key), score(b, key)
        margin = max(spread(a, key), spread(b, key))
        verdict = ('is not ahead of' if x <= y else
                   'is ahead of' if x - y > margin else
                   'is ahead, within the seeds\' spread, of')
        what = 'AP' if key == 'mAP' else f'the {key[3:]} bucket'
        out.append(f'On {what}, {methods[a]["label"]} {verdict} '
                   f'{methods[b]["label"]} ({x:.3f} against {y:.3f}, '
                   f'spread {margin:.3f}).')
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
    the methods whose runs hit the schedule's cap before the plateau
    rule held (det_report.plateaued)."""
    from det_report import plateaued
    secs = {m: _mean([r['train_s'] for r in v['runs']])
            for m, v in methods.items()}
    order = sorted(secs, key=secs.get)
    out = ['Training took ' + ', '.join(
        f'{secs[m]:.0f} s ({methods[m]["label"]})' for m in order) + '.']
    capped = [v['label'] for v in methods.values()
              if not all(plateaued(r.get('curve', [])) for r in v['runs'])]
    if capped:
        out.append(f'{len(capped)} of {len(methods)} methods hit the '
                   f'schedule\'s cap with validation AP still rising in a '
                   f'run ({", ".join(capped)}).')
    return out
