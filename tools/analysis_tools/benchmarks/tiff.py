"""The large-TIFF section: host memory and time of reading a 20480 px
BigTIFF region by region (mmpatch's TiffImage, as a PatchGD fill or
inference reads it) against decoding it whole
(``tools/analysis_tools/tiff_memory.py``). The result is kept, committed,
as ``docs/results/tiff_memory.json`` (in the work folder for a smoke run or
a page written elsewhere) and the page is written from it."""
import json
import os.path as osp
from typing import Dict

from .common import Context, kept, not_run, run_tool

TOOL = 'tools/analysis_tools/tiff_memory.py'


def run(ctx: Context) -> Dict:
    size = ['--side', '2048', '--tile', '256'] if ctx.smoke else []
    run_tool(ctx, TOOL, *size, '--json', kept(ctx, 'tiff_memory.json'))
    with open(kept(ctx, 'tiff_memory.json')) as f:
        return json.load(f)


def render(ctx: Context) -> Dict[str, str]:
    if not osp.exists(kept(ctx, 'tiff_memory.json')):
        return {'tiff': not_run('tiff')}
    with open(kept(ctx, 'tiff_memory.json')) as f:
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
    mid = out['side'] * out['global_size'] * 3 * 4 / 2**20
    time_ratio = rows['by region']['seconds'] / rows['decode']['seconds']
    lines += ['', f'Reading by region holds {ratio:.1f}× less host memory '
              'than decoding the image whole, and takes '
              f'{time_ratio:.1f}× its time (every patch decodes its own '
              'tiles, the global patch reads bands of full rows). Most of '
              'its peak is the global patch\'s intermediate, the image '
              f'resized along its width only ({out["side"]} rows × '
              f'{out["global_size"]} columns of floats, {mid:.0f} MiB); a '
              'pyramidal file skips it (the global patch is resized from '
              'its own reduced level).']
    return {'tiff': '\n'.join(lines)}
