"""The detection section: the comparison of issue #20, run by
``tools/analysis_tools/det_comparison.py`` (its CLI: ``--work-dir DIR
--seeds 0 1 2 ...``; it writes JSON, a markdown table and pictures into
DIR). The page includes the markdown it leaves (``DIR/*.md``, in name
order). Until that tool exists the section is skipped with a line saying
so; the small UltraDigits comparison is ``det-demo`` (:mod:`.tasks`)."""
import glob
import os.path as osp
from typing import Dict

from .common import ROOT, Context, not_run, run_tool, save

TOOL = 'tools/analysis_tools/det_comparison.py'


def run(ctx: Context) -> Dict:
    if not osp.exists(osp.join(ROOT, TOOL)):
        print(f'det: skipped: {TOOL} does not exist yet (issue #20); '
              '--only det-demo runs the small UltraDigits comparison')
        return save(ctx, 'det', dict(skipped=f'{TOOL} does not exist yet'))
    work = ctx.path('det')
    run_tool(ctx, TOOL, '--work-dir', work, '--seeds',
             *map(str, ctx.seeds))
    return save(ctx, 'det', dict(work_dir=work, seeds=list(ctx.seeds)))


def render(ctx: Context) -> Dict[str, str]:
    pages = sorted(glob.glob(ctx.path('det', '*.md')))
    if not pages:
        if not osp.exists(osp.join(ROOT, TOOL)):
            return {'det': f'*Not measured yet: `{TOOL}` (issue #20) is not '
                    'in this checkout.*'}
        return {'det': not_run('det')}
    return {'det': '\n\n'.join(open(p).read().strip() for p in pages)}
