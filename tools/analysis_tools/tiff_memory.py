"""Host memory and time of reading a large tiled BigTIFF as PatchGD reads it
(region by region, mmpatch's TiffImage) against decoding it whole.

    python tools/analysis_tools/tiff_memory.py [--side 20480] [--tile 512] \
        [--patch 1024] [--global-size 1024] [--dir /tmp/mmpatch_tiff] \
        [--json docs/results/tiff_memory.json]

Writes a ``side x side`` RGB BigTIFF (zlib tiles of UltraDigits-like
background with a few bright strokes; written tile by tile, so this tool
never holds the image either) unless it exists, then measures, each in a
fresh process, the peak resident memory (``ru_maxrss``) above the
process's own after its imports, and the wall time, of

* ``decode``: ``tifffile.imread`` of the whole image (uint8), then its
  global patch resized from it by OpenCV (``INTER_AREA``, uint8: what
  ``LoadImageFromFile`` + a ``Resize`` would hold);
* ``by region``: every ``patch x patch`` cell of PatchGD's grid and the
  global patch read through :class:`~mmpatch.datasets.pixels.MappedBatch`
  of a :class:`~mmpatch.datasets.tiff_image.TiffImage` (what a PatchGD
  fill or inference reads), one cell at a time.
"""
import argparse
import json
import os
import os.path as osp
import resource
import subprocess
import sys
import time


def write_tiff(path: str, side: int, tile: int) -> None:
    import numpy as np
    import tifffile
    rng = np.random.default_rng(0)

    def tiles():
        for _ in range((-(-side // tile))**2):
            t = np.full((tile, tile, 3), 40, np.uint8)
            t += rng.integers(0, 8, (tile, tile, 1), dtype=np.uint8)
            y, x = rng.integers(0, tile - 16, 2)
            t[y:y + 16, x:x + 3] = 230  # a stroke
            yield t

    os.makedirs(osp.dirname(path) or '.', exist_ok=True)
    with tifffile.TiffWriter(path + '.part', bigtiff=True) as tw:
        tw.write(tiles(), shape=(side, side, 3), dtype=np.uint8,
                 tile=(tile, tile), compression='zlib', photometric='rgb')
    os.replace(path + '.part', path)


def measure(mode: str, path: str, patch: int, global_size: int) -> dict:
    """In this process: the reads of ``mode``; peak RSS above the start."""
    import torch

    from mmpatch.datasets.pixels import MappedBatch
    from mmpatch.datasets.tiff_image import TiffImage
    from mmpatch.patchgd.grid import PatchGrid
    torch.set_num_threads(1)
    start = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    size = (global_size, global_size)
    if mode == 'decode':
        import cv2
        import tifffile
        small = cv2.resize(tifffile.imread(path), size,
                           interpolation=cv2.INTER_AREA)
        g = torch.from_numpy(small).permute(2, 0, 1)[None]
    else:
        image = TiffImage(path)
        batch = MappedBatch([image], image.shape)
        grid = PatchGrid(image.shape, patch, normalize=lambda x: x)
        for cell in range(grid.num_cells):
            grid.gather(batch, grid.index(torch.tensor([[cell]])))
        g = grid.global_patch(batch, size)
    seconds = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return dict(mode=mode, peak_above_start_mib=(peak - start) / 1024,
                seconds=seconds, global_shape=list(g.shape))


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--side', type=int, default=20480)
    p.add_argument('--tile', type=int, default=512)
    p.add_argument('--patch', type=int, default=1024)
    p.add_argument('--global-size', type=int, default=1024)
    p.add_argument('--dir', default='/tmp/mmpatch_tiff')
    p.add_argument('--json', default=None)
    p.add_argument('--measure', help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    path = osp.join(args.dir, f'scene_{args.side}_t{args.tile}.tif')
    if args.measure:  # the child: one mode, its JSON on stdout
        print(json.dumps(measure(args.measure, path, args.patch,
                                 args.global_size)))
        return {}
    if not osp.exists(path):
        t0 = time.perf_counter()
        write_tiff(path, args.side, args.tile)
        print(f'wrote {path} in {time.perf_counter() - t0:.0f} s')
    rows = []
    for mode in ('by region', 'decode'):
        run = subprocess.run(
            [sys.executable, __file__, '--side', str(args.side), '--tile',
             str(args.tile), '--patch', str(args.patch), '--global-size',
             str(args.global_size), '--dir', args.dir, '--measure', mode],
            capture_output=True, text=True,
            env=dict(os.environ, OMP_NUM_THREADS='1'))
        if run.returncode != 0:
            raise SystemExit(f'{mode} failed:\n{run.stderr[-3000:]}')
        rows.append(json.loads(run.stdout.strip().splitlines()[-1]))
        print(rows[-1])
    out = dict(side=args.side, tile=args.tile, patch=args.patch,
               global_size=args.global_size,
               decoded_mib=args.side**2 * 3 / 2**20,
               file_mib=osp.getsize(path) / 2**20, rows=rows,
               command='python tools/analysis_tools/tiff_memory.py ' + ' '.join(
                   argv if argv is not None else sys.argv[1:]))
    if args.json:
        os.makedirs(osp.dirname(args.json) or '.', exist_ok=True)
        with open(args.json, 'w') as f:
            json.dump(out, f, indent=1)
    return out


if __name__ == '__main__':
    main()
