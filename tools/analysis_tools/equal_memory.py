"""The largest stock-model input side whose training peak fits ours'.

    python tools/analysis_tools/equal_memory.py OURS_CONFIG \
        --stock STOCK_CONFIG [--canvas 1024] [--multiple 128] \
        [--batch-size 1] [--threads 1] [--json OUT.json]

1. measures ours' peak training memory (one step of OURS_CONFIG on a
   ``--canvas`` px image, ``tools/analysis_tools/benchmark_memory.py``):
   the reference;
2. bisects the side S (a multiple of ``--multiple``: the model's
   ``pad_size_divisor``, so a side in between pads to the next multiple and
   costs the same) of the largest S x S input on which one training step of
   STOCK_CONFIG peaks at most at the reference, each S measured by
   ``tools/analysis_tools/benchmark_memory.py STOCK_CONFIG --sizes S`` in a
   fresh process.

A stock model trained on S x S inputs is both equal-memory baselines of the
UltraDigits-scales comparison: canvases downsampled to S_d = S, and random
crops of side S_c = S. The peaks are those of benchmark_memory's synthetic
batch (5 random boxes an image), live tensor bytes (docs/memory.md). Prints
every measurement and the commands that repeat them; ``--json`` keeps them.
"""
import argparse
import json
import os
import os.path as osp
import subprocess
import sys
import tempfile
from typing import Dict, List

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def bench_cmd(config: str, size: int, args) -> List[str]:
    """The ``tools/analysis_tools/benchmark_memory.py`` command of one
    measurement."""
    return ['python', 'tools/analysis_tools/benchmark_memory.py', config,
            '--sizes', str(size), '--baseline', 'none', '--batch-size',
            str(args.batch_size), '--threads', str(args.threads), '--steps',
            '2'] + (['--cfg-options', *args.cfg_options]
                    if args.cfg_options and config == args.ours else [])


def measure(config: str, size: int, args) -> Dict:
    """One record of benchmark_memory (a fresh subprocess per size)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = osp.join(tmp, 'm.json')
        cmd = [sys.executable] + bench_cmd(config, size, args)[1:] + [
            '--json', out]
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
        if proc.returncode or not osp.exists(out):
            raise RuntimeError(f'{" ".join(cmd)} failed:\n'
                               f'{proc.stdout[-2000:]}{proc.stderr[-2000:]}')
        with open(out) as f:
            rec = json.load(f)[0]
    if rec.get('status') != 'ok':
        raise RuntimeError(f'{config} at {size} px: {rec.get("status")}')
    print(f'  {osp.basename(config)} at {size} px: peak train '
          f'{rec["peak_train_mb"]:.1f} MiB, step {rec["step_s"]:.2f} s',
          flush=True)
    return rec


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('ours', help='the PatchGD config: the reference peak')
    p.add_argument('--stock', required=True,
                   help='the stock model config measured on S x S inputs')
    p.add_argument('--canvas', type=int, default=1024,
                   help='the side of the canvases ours trains on')
    p.add_argument('--multiple', type=int, default=128)
    p.add_argument('--batch-size', type=int, default=1)
    p.add_argument('--threads', type=int, default=1)
    p.add_argument('--cfg-options', nargs='+', default=None,
                   help='overrides of the ours config')
    p.add_argument('--json', default=None)
    args = p.parse_args(argv)

    print(f'reference: {args.ours} on {args.canvas} px canvases')
    ref = measure(args.ours, args.canvas, args)
    budget = ref['peak_train_mb']
    seen: Dict[int, float] = {}

    def fits(units: int) -> bool:
        side = units * args.multiple
        if side not in seen:
            seen[side] = measure(args.stock, side, args)['peak_train_mb']
        return seen[side] <= budget

    lo, hi = 0, args.canvas // args.multiple  # lo fits (0: nothing), hi?
    if fits(hi):
        lo = hi
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if fits(mid):
            lo = mid
        else:
            hi = mid
    side = lo * args.multiple
    if side == 0:
        print(f'no stock side fits {budget:.1f} MiB')
        return 1
    above = side + args.multiple
    result = dict(
        ours=args.ours, canvas=args.canvas, ours_peak_mb=budget,
        ours_step_s=ref['step_s'], stock=args.stock, side=side,
        stock_peak_mb=seen[side], next_side=above,
        next_peak_mb=seen.get(above), measured=dict(sorted(seen.items())),
        batch_size=args.batch_size,
        commands=[' '.join(bench_cmd(args.ours, args.canvas, args)),
                  ' '.join(bench_cmd(args.stock, side, args)),
                  ' '.join(bench_cmd(args.stock, above, args))])
    print(f'\nours: {budget:.1f} MiB at {args.canvas} px; largest stock '
          f'side within it: {side} px ({seen[side]:.1f} MiB)' +
          (f'; {above} px needs {seen[above]:.1f} MiB' if above in seen
           else ''))
    print('commands:\n  ' + '\n  '.join(result['commands']))
    if args.json:
        os.makedirs(osp.dirname(osp.abspath(args.json)), exist_ok=True)
        with open(args.json, 'w') as f:
            json.dump(result, f, indent=2)
    return 0


if __name__ == '__main__':
    sys.exit(main())
