"""The pictures section: whole-canvas predictions of the seed-0 runs of the
detection and segmentation comparisons, drawn by mmdet's and mmseg's own
visualizers through ``tools/test.py --show-dir``."""
import glob
import json
import os
import os.path as osp
from typing import Dict, List

from .accuracy import run_dir
from .common import Context, run_tool
from .tasks import TASKS

#: (task, its rows drawn)
DRAWN = [('det-demo', ('patchgd', 'full', 'downsampled')),
         ('seg', ('patchgd', 'full', 'downsampled'))]


def _options(task: str, smoke: bool) -> List[str]:
    # mmseg's SegVisualizationHook draws every 50th image by default;
    # mmdet's DetVisualizationHook draws boxes scoring >= 0.3, which these
    # short CPU runs rarely reach, so draw from 0.1
    opts = ['default_hooks.visualization.interval=1' if task == 'seg' else
            'default_hooks.visualization.score_thr=0.1']
    if smoke:
        opts.append('test_dataloader.dataset.indices=1')
    return ['--cfg-options', *opts]


def run(ctx: Context) -> List[str]:
    made = []
    for name, rows in DRAWN:
        task = TASKS[name]
        for row in (r for r in task.rows if r.key in rows):
            work = run_dir(ctx, task, row, ctx.seeds[0])
            result = osp.join(work, 'experiment.json')
            ckpts = sorted(glob.glob(osp.join(work, '*.pth')),
                           key=osp.getmtime)
            if not osp.exists(result) or not ckpts:
                continue
            cfg = json.load(open(result))['config']
            show = osp.join(work, 'show')
            run_tool(ctx, 'tools/test.py', cfg, ckpts[-1], '--work-dir',
                     osp.join(work, 'test'), '--show-dir', show,
                     *_options(name, ctx.smoke))
            drawn = sorted(glob.glob(osp.join(show, '**', '*.png'),
                                     recursive=True)) + sorted(
                glob.glob(osp.join(work, 'test', '**', 'show', '**',
                                   '*.png'), recursive=True))
            if drawn:
                dst = ctx.image(f'pred_{name.replace("-", "_")}_{row.key}'
                                '.png')
                shrink(drawn[0], dst)
                made.append(dst)
    return made


def shrink(src: str, dst: str, side: int = 1024) -> None:
    import cv2
    img = cv2.imread(src)
    scale = side / max(img.shape[:2])
    if scale < 1:
        img = cv2.resize(img, None, fx=scale, fy=scale,
                         interpolation=cv2.INTER_AREA)
    os.makedirs(osp.dirname(dst), exist_ok=True)
    cv2.imwrite(dst, img)


def render(ctx: Context) -> Dict[str, str]:
    parts = []
    for name, rows in DRAWN:
        for key in rows:
            path = ctx.image(f'pred_{name.replace("-", "_")}_{key}.png')
            if osp.exists(path):
                label = next(r.label for r in TASKS[name].rows
                             if r.key == key)
                parts += [f'**{name}: {label}**', '',
                          f'![{osp.basename(path)}]({ctx.link(path)})', '']
    return {'pictures': '\n'.join(parts).strip() or
            '*No pictures yet: they are drawn from the seed-0 runs of '
            '`--only det-demo` and `--only seg` by `--only pictures`.*'}
