"""Generate UltraDigits-scales (``mmpatch/datasets/ultradigits_scales.py``).

    python tools/make_ultradigits_scales.py --out data/ultradigits_scales \
        [--seed 0] [--size 1024] [--size-w W] [--num-train 96 --num-val 16 \
        --num-test 64] [--tiny 8 12] [--medium 4 6] [--huge 1 1] \
        [--distractors 2 4] [--tiny-size 10 24] [--medium-frac 0.3] \
        [--huge-frac 0.65 0.8] [--force]

A second run with the same arguments finds the stamp
(``meta/ultradigits_scales.json``) and prints "up to date"; ``--force``
regenerates.
"""
import argparse
import importlib.util
import os.path as osp
import sys
import time


def _load_generator():
    """The generator module without importing the ``mmpatch`` package
    (torch, mmengine), loaded as ``tools/make_ultradigits.py`` loads
    UltraDigits' (the tools are scripts, not a package)."""
    spec = importlib.util.spec_from_file_location(
        '_make_ultradigits',
        osp.join(osp.dirname(osp.realpath(__file__)), 'make_ultradigits.py'))
    cli = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cli)
    return cli.load_generator('ultradigits_scales')


def parse_args(argv=None) -> argparse.Namespace:
    d = dict(_load_generator().DEFAULTS)
    p = argparse.ArgumentParser(
        description='Generate UltraDigits-scales: 10 px to 60 %-of-the-'
        'canvas digits on the same canvas, COCO boxes.')
    p.add_argument('--out', default='data/ultradigits_scales')
    p.add_argument('--seed', type=int, default=d['seed'])
    p.add_argument('--size', type=int, default=d['canvas_size'],
                   help='canvas height (and width unless --size-w)')
    p.add_argument('--size-w', type=int, default=None, help='canvas width')
    for split in ('train', 'val', 'test'):
        p.add_argument(f'--num-{split}', type=int, default=d[f'num_{split}'])
    for key in ('tiny', 'medium', 'huge', 'distractors'):
        p.add_argument(f'--{key}', type=int, nargs=2, default=d[key],
                       metavar=('MIN', 'MAX'),
                       help=f'{key} per canvas (inclusive range)')
    p.add_argument('--tiny-size', type=int, nargs=2, default=d['tiny_size'],
                   metavar=('MIN', 'MAX'), help='tiny squares, px')
    p.add_argument('--medium-frac', type=float, default=d['medium_frac'],
                   help='largest medium square, fraction of the short side')
    p.add_argument('--huge-frac', type=float, nargs=2,
                   default=d['huge_frac'], metavar=('MIN', 'MAX'),
                   help='huge squares, fractions of the short side')
    p.add_argument('--force', action='store_true')
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    gen = _load_generator()
    kwargs = dict(
        seed=args.seed, canvas_size=(args.size, args.size_w or args.size),
        num_train=args.num_train, num_val=args.num_val,
        num_test=args.num_test, tiny=args.tiny, medium=args.medium,
        huge=args.huge, distractors=args.distractors,
        tiny_size=args.tiny_size, medium_frac=args.medium_frac,
        huge_frac=args.huge_frac)
    if not args.force and gen.ultradigits_scales_up_to_date(args.out,
                                                            **kwargs):
        print(f'UltraDigits-scales in {args.out} is up to date')
        return 0
    t0 = time.perf_counter()
    summary = gen.generate_ultradigits_scales(args.out, **kwargs)
    h, w = summary['args']['canvas_size']
    print(f'UltraDigits-scales written to {args.out} in '
          f'{time.perf_counter() - t0:.1f} s (canvas {h}x{w}, seed '
          f'{args.seed})')
    for split, info in summary['splits'].items():
        hist = info['box_side_hist']
        print(f'  {split:5s}: {info["num_images"]:4d} canvases, '
              f'{info["num_digits"]:5d} digits {info["groups"]}, '
              f'classes 0-9: {info["class_hist"]}')
        print('         longer box side ' + ', '.join(
            f'{a}-{b}: {n}' for a, b, n in zip(hist['edges'],
                                               hist['edges'][1:],
                                               hist['counts'])))
    return 0


if __name__ == '__main__':
    sys.exit(main())
