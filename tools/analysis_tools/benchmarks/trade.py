"""The trade section (issue #31): the full-gradient step's time against its
peak memory as it keeps more of the fill's chunks with their graphs, from
the tightest step (every chunk encoded again) to one forward and one
backward of every cell, beside the stock full-image step and the sampled
step, for the narrow FCOS, the U-Net, the classifier and FCOS-R50 at
1024 px (``tools/analysis_tools/trade_curve.py``). Each model's result is
kept, committed, as ``docs/results/trade/<model>.json`` (in the work folder
for a smoke run or a page written elsewhere); the page and the pictures are
written from those files."""
import json
import os.path as osp
from typing import Dict, List

from .common import ROOT, Context, kept, not_run, run_tool

TOOL = 'tools/analysis_tools/trade_curve.py'
#: the goal of issue #31 at the full-image peak's budget
GOAL = 1.1
#: model -> trade_curve.py arguments (the time section's models and
#: batches, at 1024 px)
RUNS: Dict[str, List[str]] = {
    'ultradigits_det': [
        'configs/det/fcos_patchgd_ultradigits_full.py', '--batch-size', '2',
        '--sampled-config', 'configs/det/fcos_patchgd_ultradigits.py'],
    'unet_seg': [
        'configs/seg/unet_patchgd_ultradigits_full.py', '--batch-size', '1',
        '--sampled-config', 'configs/seg/unet_patchgd_ultradigits.py'],
    'resnet_cls': [
        'configs/cls/resnet_patchgd_ultradigits_full.py', '--batch-size',
        '4', '--sampled-config', 'configs/cls/resnet_patchgd_ultradigits.py'],
    # the stock mmdet FCOS-R50 (no activation checkpointing)
    'fcos_r50': [
        'configs/det/fcos_patchgd_sodad_full.py', '--batch-size', '1',
        '--baseline-cfg-options', 'model.backbone.with_cp=False',
        '--sampled-config', 'configs/det/fcos_patchgd_sodad.py'],
}
SIZE = '1024'
#: the tightest step (no chunk kept) is timed against the code before
#: issue #31 (the commit before the kept chunks), paired round by round
#: (``tools/analysis_tools/paired_step.py``): model -> (batch, rounds,
#: steps); FCOS-R50's 16-24 s steps get fewer of each
PAIRED_TOOL = 'tools/analysis_tools/paired_step.py'
BEFORE = '24741ed'
TIGHTEST = {'ultradigits_det': ('2', '8', '6'), 'resnet_cls': ('4', '8', '6'),
            'unet_seg': ('1', '5', '5'), 'fcos_r50': ('1', '6', '4')}
#: issue #31's bound on the tightest step's slowdown
TIGHTEST_GOAL = 1.05
#: the smoke run: the narrow FCOS at 256 px, two points
SMOKE = {'ultradigits_det': [
    'configs/det/fcos_patchgd_ultradigits_full.py', '--batch-size', '1',
    '--keep', '0', '1']}


#: benchmark_memory.py's --steps per point (the classifier's 1.5 s steps
#: differ by less than one step's noise from one point to the next, so
#: more of them are timed)
STEPS = {'resnet_cls': '10'}


def command(model: str) -> str:
    return ' '.join(['python', TOOL, *RUNS[model], '--size', SIZE,
                     '--steps', STEPS.get(model, '4'), '--threads', '1',
                     '--breakdown'])


def tightest_args(model: str) -> List[str]:
    """``paired_step.py``'s arguments for one model's tightest step."""
    batch, rounds, steps = TIGHTEST[model]
    return [RUNS[model][0], '--against', BEFORE, '--size', SIZE,
            '--batch-size', batch, '--rounds', rounds, '--steps', steps,
            '--threads', '1']


def run(ctx: Context) -> Dict:
    runs = SMOKE if ctx.smoke else RUNS
    size = '256' if ctx.smoke else SIZE
    for model, args in runs.items():
        out = osp.join(kept(ctx, 'trade'), model)
        steps = '2' if ctx.smoke else STEPS.get(model, '4')
        run_tool(ctx, TOOL, *args, '--size', size, '--steps', steps,
                 '--threads', '1', '--breakdown', '--json', out + '.json',
                 '--plot', ctx.image(f'trade_{model}.png')
                 if not ctx.smoke else out + '.png')
        if not ctx.smoke:
            # relative: the command is kept in the JSON and shown on the
            # page (as the streaming section's)
            run_tool(ctx, PAIRED_TOOL, *tightest_args(model), '--json',
                     osp.relpath(osp.join(kept(ctx, 'trade'), 'tightest',
                                          f'{model}.json'), ROOT))
    return {}


def _tightest(ctx: Context, model: str) -> str:
    """What the paired timing of the tightest step says, or ''."""
    path = osp.join(kept(ctx, 'trade'), 'tightest', f'{model}.json')
    if not osp.exists(path):
        return ''
    with open(path) as f:
        res = json.load(f)
    ratio = res['median_ratio']
    return (f'the tightest step against the code before issue #31 '
            f'({res["against"][:7]}), paired over {len(res["rounds"])} '
            f'rounds: {ratio:.3f}× (rounds {res["min_ratio"]:.3f}-'
            f'{res["max_ratio"]:.3f}×; {res["head_s"]:.2f} against '
            f'{res["against_s"]:.2f} s), '
            f'{"within" if ratio <= TIGHTEST_GOAL else "beyond"} the 5 % '
            f'bound (`{res["command"]}`)')


def _verdict(rec: dict, full: dict) -> str:
    """``'(1.28×, misses the ≤ 1.1× goal)'``, its phases where missed."""
    ratio = rec['step_s'] / full['step_s']
    out = f'({ratio:.2f}×, {"meets" if ratio <= GOAL else "misses"} the ≤ ' \
          f'{GOAL}× goal)'
    from trade_curve import phases  # beside run_benchmarks.py
    if ratio > GOAL and phases(rec):
        out += f'; its phases {phases(rec)}; the full image\'s ' \
               f'{phases(full)}'
    return out


def _monotone(points: List[dict]) -> str:
    """Whether the time falls as chunks are kept; where not, by how much,
    beside how far one point's own timed steps spread."""
    from trade_curve import rises, spread  # beside run_benchmarks.py
    up = rises(points)
    if not up:
        return 'time falls monotonically as chunks are kept'
    width = spread(points)
    return ('the time does not fall monotonically as chunks are kept: ' +
            ', '.join(f'{a} to {b} kept +{r * 100:.1f} %' for a, b, r in up) +
            ('' if width is None else
             f" (one point's own timed steps spread by up to "
             f'{width * 100:.0f} %)'))


def _line(model: str, res: Dict, paired: str = '') -> str:
    """What one model's curve says against the goals of issue #31."""
    from trade_curve import planned_kept  # beside run_benchmarks.py
    pts = sorted(res['points'], key=lambda p: p['keep'])
    full, planned = res['full'] or {}, res.get('planned') or {}
    tight, loose = pts[0], pts[-1]
    out = [f'**{model}** ({res["size"]} px, batch {res["batch_size"]}, '
           f'{res["chunks"]} fill chunks)']
    if full.get('step_s') and loose.get('step_s'):
        out.append(
            f'every chunk kept: {loose["step_s"]:.2f} s at '
            f'{loose["peak_train_mb"]:.0f} MiB against the full image\'s '
            f'{full["step_s"]:.2f} s at {full["peak_train_mb"]:.0f} MiB' +
            ('' if planned.get('step_s') else ' ' + _verdict(loose, full)))
    if full.get('step_s') and planned.get('step_s'):
        out.append(
            f'planned with the full image\'s peak as its budget '
            f'({planned["plan"]["budget_mb"]:.0f} MiB; chunks kept: '
            f'{planned_kept(planned, res["chunks"])}): '
            f'{planned["step_s"]:.2f} s at {planned["peak_train_mb"]:.0f} '
            f'MiB {_verdict(planned, full)}')
    elif planned and planned.get('status') != 'ok':
        out.append('the planner found no plan within the full image\'s '
                   f'peak: {str(planned.get("detail", "")).split(". ")[0]}')
    if tight.get('step_s'):
        out.append(f'none kept (the tightest step): {tight["step_s"]:.2f} s '
                   f'at {tight["peak_train_mb"]:.0f} MiB')
    if paired:
        out.append(paired)
    out.append(_monotone(res['points']))
    return '; '.join(out) + '.'


def render(ctx: Context) -> Dict[str, str]:
    found = {m: osp.join(kept(ctx, 'trade'), f'{m}.json') for m in RUNS}
    found = {m: p for m, p in found.items() if osp.exists(p)}
    if not found:
        return {'trade': not_run('trade')}
    from trade_curve import table  # beside run_benchmarks.py
    parts = []
    for model, path in found.items():
        with open(path) as f:
            res = json.load(f)
        parts += [_line(model, res, _tightest(ctx, model)), '',
                  f'`{command(model)}`', '',
                  table(res), '']
        image = ctx.image(f'trade_{model}.png')
        if osp.exists(image):
            parts += [f'![trade {model}]({ctx.link(image)})', '']
    return {'trade': '\n'.join(parts).rstrip()}
