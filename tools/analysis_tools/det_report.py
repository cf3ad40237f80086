"""The detection comparison's report, written from its kept results only.

``det_comparison.py`` keeps each finished run's scores as one small JSON,
``RESULTS/<method>/seed<k>.json`` (committed under
``docs/results/det_comparison/``); this module reads them back and writes
the table (``det_comparison.md``: mean ± std over seeds; main rows, then
the ablations), ``det_comparison.json`` (the same numbers, per method) and
the time-to-accuracy picture. Nothing here trains or scores.

**The plateau rule** (:func:`plateaued`): a run has stopped improving when
the best validation AP of its last fifth of epochs is less than 2 %
(relative) above the best before them. A run that has not is reported as
having hit the schedule's cap.
"""
import glob
import json
import os.path as osp
from typing import Dict, List, Sequence

import numpy as np

KEYS = tuple(f'coco/bbox_{k}' for k in ('mAP', 'mAP_50', 'AP_tiny',
                                        'AP_medium', 'AP_huge'))
#: the rule's two numbers: the tail of the schedule and the relative gain
TAIL, GAIN = 0.2, 0.02


def plateaued(curve: Sequence[dict], key: str = 'coco/bbox_mAP',
              tail: float = TAIL, gain: float = GAIN) -> bool:
    """Whether validation AP stopped improving over ``curve`` (one point
    per scored epoch): the best of the last ``tail`` of the points is less
    than ``gain`` above the best before them."""
    aps = [c.get(key) or 0.0 for c in curve]
    n = max(1, round(len(aps) * tail))
    if len(aps) <= n:
        return False
    return max(aps[-n:]) < (1 + gain) * max(aps[:-n])


def load_runs(results: str) -> List[dict]:
    """Every kept run under ``results`` (``<method>/seed<k>.json``)."""
    return [json.load(open(p)) for p in sorted(glob.glob(
        osp.join(results, '*', 'seed*.json')))]


def mean_std(values, fmt: str = '{:.3f}') -> str:
    """``'m ± s'`` over seeds (one value alone; '—' without any)."""
    values = [v for v in values if v is not None]
    if len(values) < 2:
        return fmt.format(values[0]) if values else '—'
    return f'{fmt.format(np.mean(values))} ± {fmt.format(np.std(values))}'


def _row(label: str, rs: List[dict], slices_note: str) -> str:
    cells = [mean_std([r['test'].get(k) for r in rs]) for k in KEYS]
    plateau = sum(plateaued(r['curve']) for r in rs)
    epochs = sorted({r['curve'][-1]['epoch'] for r in rs if r['curve']})
    cells += [mean_std([r['peak_train_mb'] for r in rs], '{:.0f}'),
              mean_std([r['train_s'] for r in rs], '{:.0f}'),
              mean_std([r['infer_s'] for r in rs], '{:.2f}') + slices_note,
              f'{plateau} of {len(rs)} ({"/".join(map(str, epochs))} epochs)'
              if epochs else '— (no validation curve)']
    return f'| {label} | ' + ' | '.join(cells) + ' |'


def summarize(runs: List[dict], methods: Dict[str, tuple], out_dir: str,
              patch_size: int = 256) -> str:
    """Write ``det_comparison.{md,json}`` and the curves into ``out_dir``
    from ``runs``; return the markdown. ``methods``: name -> (label,
    config, sliced, group) as ``det_comparison.METHODS``."""
    by = {m: [r for r in runs if r['method'] == m] for m in methods}
    by = {m: rs for m, rs in by.items() if rs}
    t, b = runs[0]['test'], runs[0]['buckets']
    head = '| method | AP | AP50 | ' + ' | '.join(
        f'AP {k} ({b[k][0]:g}–{b[k][1]:g} px, n={t[f"coco/bbox_n_{k}"]:.0f})'
        .replace('–100000 px', '+ px') for k in ('tiny', 'medium', 'huge')
    ) + (' | peak train MiB | train time (s) | inference s / canvas | '
         'plateau (runs; epochs) |')
    tables = {}
    for m, rs in by.items():
        note = ''
        if methods[m][2]:
            at = mean_std([r.get('infer_s_at_patch') for r in rs], '{:.2f}')
            note = (f' ({rs[0]["slices"]:.0f} slices; at {patch_size} px: '
                    f'{at})')
        tables.setdefault(methods[m][3], []).append(
            _row(methods[m][0], rs, note))
    seeds = sorted({r['seed'] for r in runs})
    md = []
    for group, rows in tables.items():
        md += [f'**{group}**', '', head, '|' + ' --- |' * 10, *rows, '']
    md.append(f'Seeds {seeds} (runs: ' + ', '.join(
        f'{m} {len(rs)}' for m, rs in by.items()) + '); buckets by the '
        'longer box side; mean ± std over seeds. Plateau: runs whose '
        f'validation AP rose less than {GAIN:.0%} over the last '
        f'{TAIL:.0%} of their epochs (the others hit the cap).')
    text = '\n'.join(md) + '\n'
    with open(osp.join(out_dir, 'det_comparison.md'), 'w') as f:
        f.write(text)
    rows = {m: dict(label=methods[m][0], group=methods[m][3], runs=rs,
                    **{k: [r['test'].get(k) for r in rs] for k in KEYS})
            for m, rs in by.items()}
    with open(osp.join(out_dir, 'det_comparison.json'), 'w') as f:
        json.dump(dict(methods=rows), f, indent=2)
    draw_curves(by, methods, osp.join(out_dir, 'time_to_accuracy.png'))
    return text


def draw_curves(by: Dict[str, List[dict]], methods: Dict[str, tuple],
                path: str) -> None:
    """Val AP against training wall-clock, mean over seeds, one curve for
    each method of the first group (the comparison's rows)."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    first = next(iter(methods.values()))[3]
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for m, rs in by.items():
        n = min(len(r['curve']) for r in rs)
        if methods[m][3] != first or n == 0:
            continue
        t = np.mean([[c['train_s'] for c in r['curve'][:n]] for r in rs], 0)
        ap = np.array([[c['coco/bbox_mAP'] or 0 for c in r['curve'][:n]]
                       for r in rs])
        ax.errorbar(t, ap.mean(0), yerr=ap.std(0), marker='o', capsize=3,
                    markersize=3, label=methods[m][0])
    ax.set(xlabel='training wall-clock (s, one thread, validation excluded)',
           ylabel='AP on the validation canvases')
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def draw_predictions(args, methods: Dict[str, tuple], path: str,
                     side: int = 640) -> None:
    """The first test canvas: ground truth, then ours (full gradient, else
    sampled) and the two equal-memory baselines (first seed), each with its
    k best boxes, k the number of digits on the canvas (short runs score
    low; no threshold)."""
    import cv2
    import numpy as np
    coco = json.load(open(osp.join(args.data_root,
                                   'annotations/instances_test.json')))
    img = coco['images'][0]
    canvas = cv2.imread(osp.join(args.data_root, 'images/test',
                                 img['file_name']))
    scale = side / max(canvas.shape[:2])
    small = cv2.resize(canvas, None, fx=scale, fy=scale,
                       interpolation=cv2.INTER_AREA)
    panels = []
    gts = [a for a in coco['annotations'] if a['image_id'] == img['id']]
    ours = 'ours_full' if 'ours_full' in args.methods else 'ours'
    best = lambda p: sorted(  # noqa: E731
        (d for d in json.load(open(p)) if d['image_id'] == img['id']),
        key=lambda d: -d['score'])[:len(gts)]
    for name, boxes, colour in [('ground truth', gts, (0, 200, 0))] + [
            (f'{methods[m][0]}: best {len(gts)}', best(p), (0, 140, 255))
            for m in (ours, 'downsampled', 'crop') if m in args.methods
            for p in sorted(glob.glob(osp.join(args.work_dir, m, '*',
                                               'test.bbox.json')))[:1]]:
        pic = small.copy()
        for d in boxes:
            x, y, w, h = (v * scale for v in d['bbox'])
            cv2.rectangle(pic, (int(x), int(y)), (int(x + w), int(y + h)),
                          colour, 1)
            cv2.putText(pic, str(d['category_id']), (int(x), int(y) - 2),
                        cv2.FONT_HERSHEY_SIMPLEX, 0.35, colour, 1)
        cv2.putText(pic, name, (6, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.5,
                    (255, 255, 255), 1)
        panels.append(pic)
    cv2.imwrite(path, np.concatenate(panels, axis=1))
