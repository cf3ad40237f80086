"""The large-TIFF section: host memory and time of reading a 20480 px
BigTIFF region by region (mmpatch's TiffImage, as a PatchGD fill or
inference reads it) against decoding it whole
(``tools/analysis_tools/tiff_memory.py``). The result is kept, committed,
as ``docs/results/tiff_memory.json`` (in the work folder for a smoke run or
a page written elsewhere) and the page is written from it."""
import json
import os.path as osp
from typing import Dict

from .common import PAGE, ROOT, Context, not_run, run_tool

TOOL = 'tools/analysis_tools/tiff_memory.py'
KEPT = osp.join(ROOT, 'docs', 'results', 'tiff_memory.json')


def _kept(ctx: Context) -> str:
    return KEPT if ctx.page == PAGE else ctx.path('tiff_memory.json')


def run(ctx: Context) -> Dict:
    size = ['--side', '2048', '--tile', '256'] if ctx.smoke else []
    run_tool(ctx, TOOL, *size, '--json', _kept(ctx))
    with open(_kept(ctx)) as f:
        return json.load(f)


def render(ctx: Context) -> Dict[str, str]:
    if not osp.exists(_kept(ctx)):
        return {'tiff': not_run('tiff')}
    with open(_kept(ctx)) as f:
        out = json.load(f)
    rows = {r['mode']: r for r in out['rows']}
    lines = [
        f'`{out["command"]}`: a {out["side"]}² RGB BigTIFF '
        f'({out["decoded_mib"]:.0f} MiB decoded, {out["file_mib"]:.0f} MiB '
        f'on disk, zlib tiles of {out["tile"]} px); every {out["patch"]} px '
        f'cell of the patch grid and the {out["global_size"]} px global '
        'patch, one process each, one thread:', '',
        '| read | peak resident memory above the process\'s start (MiB) | '
        'wall time (s) |', '| --- | --- | --- |']
    for mode, label in (('by region', 'by region (`TiffImage`, PatchGD)'),
                        ('decode', 'decoded whole (`tifffile.imread`) and '
                         'resized')):
        r = rows[mode]
        lines.append(f'| {label} | {r["peak_above_start_mib"]:.0f} | '
                     f'{r["seconds"]:.1f} |')
    ratio = (rows['decode']['peak_above_start_mib']
             / max(rows['by region']['peak_above_start_mib'], 1e-9))
    lines += ['', f'Reading by region holds {ratio:.0f}× less host memory '
              'than decoding the image whole.']
    return {'tiff': '\n'.join(lines)}
