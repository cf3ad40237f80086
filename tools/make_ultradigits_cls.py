"""Generate UltraDigits-cls (see ``mmpatch/datasets/ultradigits_cls.py``).

Example::

    python tools/make_ultradigits_cls.py --out data/ultradigits_cls \
        --size 1024 --num-train 256 --num-val 16 --num-test 256

When ``--out`` already holds a generation stamped with the same arguments
(``meta/ultradigits_cls.json``), nothing is written and "up to date" is
printed; ``--force`` regenerates.
"""
import argparse
import sys
import time

from mmpatch.datasets.ultradigits_cls import (
    CELL, LARGE_SIZE, SMALL_SIZE, ULTRADIGITS_CLS_CLASSES,
    generate_ultradigits_cls, ultradigits_cls_up_to_date)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description='Generate UltraDigits-cls: 4 canvas classes named by a '
        'large digit (6 or 9) and a lattice of small ones (all 6 or all 9).')
    parser.add_argument('--out', default='data/ultradigits_cls')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--size', type=int, default=1024,
                        help='canvas side in pixels (>= 256)')
    parser.add_argument('--num-train', type=int, default=256)
    parser.add_argument('--num-val', type=int, default=16)
    # 256 test canvases: one is under half a point of accuracy (canvas i of
    # a split is drawn from its own seed, so more canvases keep the first)
    parser.add_argument('--num-test', type=int, default=256)
    parser.add_argument('--large-size', type=int, nargs=2,
                        default=LARGE_SIZE, metavar=('MIN', 'MAX'),
                        help='side range of the large digit, px')
    parser.add_argument('--small-size', type=int, nargs=2,
                        default=SMALL_SIZE, metavar=('MIN', 'MAX'),
                        help='side range of a small digit, px')
    parser.add_argument('--cell', type=int, default=CELL,
                        help='step of the small digits\' lattice, px')
    parser.add_argument('--force', action='store_true',
                        help='regenerate even when the stamp matches')
    args = parser.parse_args(argv)
    kwargs = dict(seed=args.seed, canvas_size=args.size,
                  num_train=args.num_train, num_val=args.num_val,
                  num_test=args.num_test, large_size=tuple(args.large_size),
                  small_size=tuple(args.small_size), cell=args.cell)
    if not args.force and ultradigits_cls_up_to_date(args.out, **kwargs):
        print(f'UltraDigits-cls in {args.out} is up to date')
        return 0
    t0 = time.perf_counter()
    summary = generate_ultradigits_cls(args.out, **kwargs)
    print(f'UltraDigits-cls written to {args.out} in '
          f'{time.perf_counter() - t0:.1f} s (canvas {args.size} px, '
          f'seed {args.seed})')
    for split, info in summary['splits'].items():
        print(f'  {split:5s}: {info["num_images"]:5d} canvases, labels '
              f'{"/".join(ULTRADIGITS_CLS_CLASSES)}: {info["label_hist"]}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
