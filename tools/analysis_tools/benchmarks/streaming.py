"""The streaming section (issue #31): ours' full-gradient classifier
beside StreamingCNN (``lightstream``) and the full image, narrow and
standard ResNet-18 at 1024, 2048 and 4096 px
(``tools/analysis_tools/streaming_compare.py``). The result is kept,
committed, as ``docs/results/streaming.json`` (in the work folder for a
smoke run or a page written elsewhere) and the page is written from it."""
import json
import os.path as osp
from typing import Dict, List, Optional

from .common import ROOT, Context, kept, not_run, run_tool

TOOL = 'tools/analysis_tools/streaming_compare.py'


#: every backbone at every size (the standard-width ResNet-18 at 4096 px
#: takes about 20 of the section's minutes on one thread)
FULL: List[str] = []


def run(ctx: Context) -> Dict:
    size = (['--sizes', '256', '--backbones', 'narrow', '--methods', 'full',
             'ours'] if ctx.smoke else FULL)
    # relative: the command is kept in the JSON and shown on the page
    run_tool(ctx, TOOL, *size, '--json',
             osp.relpath(kept(ctx, 'streaming.json'), ROOT))
    return {}


def _find(records: List[dict], backbone: str, size: int,
          method: str) -> Optional[dict]:
    return next((r for r in records if r['backbone'] == backbone
                 and r['size'] == size and r['method'] == method
                 and r['status'] == 'ok'), None)


def reading(records: List[dict]) -> List[str]:
    """Where ours is ahead of StreamingCNN and where behind, per backbone
    and size, in memory and in time."""
    out = []
    for backbone in dict.fromkeys(r['backbone'] for r in records):
        for size in sorted({r['size'] for r in records
                            if r['backbone'] == backbone}):
            ours = _find(records, backbone, size, 'ours')
            stream = _find(records, backbone, size, 'streaming')
            if not ours or not stream:
                continue
            mem = stream['peak_train_mb'] / ours['peak_train_mb']
            time = stream['step_s'] / ours['step_s']
            out.append(
                f'{backbone} at {size}²: ours holds {mem:.1f}× '
                f'{"less" if mem >= 1 else "more"} memory than StreamingCNN '
                f'({ours["peak_train_mb"]:.0f} against '
                f'{stream["peak_train_mb"]:.0f} MiB) and its step takes '
                f'{time if time >= 1 else 1 / time:.2f}× '
                f'{"less" if time >= 1 else "more"} time '
                f'({ours["step_s"]:.2f} against {stream["step_s"]:.2f} s).')
    return out


def render(ctx: Context) -> Dict[str, str]:
    if not osp.exists(kept(ctx, 'streaming.json')):
        return {'streaming': not_run('streaming')}
    import streaming_compare  # beside run_benchmarks.py
    with open(kept(ctx, 'streaming.json')) as f:
        out = json.load(f)
    records = out['records']
    failed = [r for r in records if r['status'] != 'ok']
    lines = [f'`{out["command"]}`', '']
    if out.get('runs'):  # measured in parts; each size's rows in one part
        lines += ['Measured in parts, the rows of each backbone and size in '
                  'one: ' + '; '.join(f'`{c}`' for c in out['runs']) + '.',
                  '']
    lines += [streaming_compare.table(records), '']
    lines += reading(records)
    if failed:
        lines += ['', 'Rows that did not run: ' + '; '.join(
            f'{r["backbone"]} {r["size"]}² {r["method"]}: {r["status"]}' +
            (f' ({r["detail"]})' if r['status'] == 'skipped' else '')
            for r in failed) + '.']
    return {'streaming': '\n'.join(lines)}
