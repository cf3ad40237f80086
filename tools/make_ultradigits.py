"""Generate the UltraDigits dataset (see ``mmpatch/datasets/ultradigits.py``).

Example::

    python tools/make_ultradigits.py --out data/ultradigits --seed 0 \
        --size 1024 --num-train 64 --num-val 16 --num-test 16

When ``--out`` already holds a generation stamped with the same arguments
(``meta/ultradigits.json``), nothing is written and "up to date" is printed;
``--force`` regenerates.
"""
import argparse
import importlib
import importlib.util
import os.path as osp
import sys
import time


def load_generator(name: str = 'ultradigits'):
    """The generator module ``mmpatch.datasets.{name}``, without importing
    the ``mmpatch`` package.

    ``mmpatch/__init__.py`` imports torch and mmengine; the generators need
    only numpy, scikit-learn and OpenCV, so from a checkout the
    ``mmpatch.datasets`` package is loaded on its own, as
    ``_mmpatch_datasets`` (fast, and it works without torch). An installed
    copy (``mmpatch/.mim/tools``) falls back to the package import.
    ``tools/make_ultradigits_scales.py`` loads its generator with it too.
    """
    folder = osp.join(
        osp.dirname(osp.dirname(osp.realpath(__file__))), 'mmpatch',
        'datasets')
    if osp.isfile(osp.join(folder, f'{name}.py')):
        spec = importlib.util.spec_from_file_location(
            '_mmpatch_datasets', osp.join(folder, '__init__.py'),
            submodule_search_locations=[folder])
        package = importlib.util.module_from_spec(spec)
        sys.modules['_mmpatch_datasets'] = package
        spec.loader.exec_module(package)
        return importlib.import_module(f'_mmpatch_datasets.{name}')
    return importlib.import_module(f'mmpatch.datasets.{name}')


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Generate UltraDigits: handwritten digits from '
        'scikit-learn on large canvases, with class labels (sum of the '
        'digits), COCO boxes and stroke masks.')
    parser.add_argument(
        '--out', default='data/ultradigits', help='output folder')
    parser.add_argument('--seed', type=int, default=0, help='random seed')
    parser.add_argument(
        '--size',
        type=int,
        default=1024,
        help='canvas height (and width unless --size-w is given)')
    parser.add_argument(
        '--size-w', type=int, default=None, help='canvas width')
    parser.add_argument('--num-train', type=int, default=64)
    parser.add_argument('--num-val', type=int, default=16)
    parser.add_argument('--num-test', type=int, default=16)
    parser.add_argument(
        '--digits',
        type=int,
        nargs=2,
        default=(3, 5),
        metavar=('MIN', 'MAX'),
        help='inclusive range of the number of digits per canvas')
    parser.add_argument(
        '--min-digit-size',
        type=int,
        default=16,
        help='smallest digit side in pixels')
    parser.add_argument(
        '--max-digit-frac',
        type=float,
        default=0.25,
        help='largest digit side as a fraction of the short canvas side')
    parser.add_argument(
        '--force',
        action='store_true',
        help='regenerate even when the stamp matches')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    gen = load_generator()
    kwargs = dict(
        seed=args.seed,
        canvas_size=(args.size, args.size_w or args.size),
        num_train=args.num_train,
        num_val=args.num_val,
        num_test=args.num_test,
        digits_per_canvas=tuple(args.digits),
        min_digit_size=args.min_digit_size,
        max_digit_frac=args.max_digit_frac)
    if not args.force and gen.ultradigits_up_to_date(args.out, **kwargs):
        print(f'UltraDigits in {args.out} is up to date')
        return 0
    t0 = time.perf_counter()
    summary = gen.generate_ultradigits(args.out, **kwargs)
    elapsed = time.perf_counter() - t0
    h, w = summary['args']['canvas_size']
    print(f'UltraDigits written to {args.out} in {elapsed:.1f} s '
          f'(canvas {h}x{w}, seed {args.seed})')
    for split, info in summary['splits'].items():
        print(f'  {split:5s}: {info["num_images"]:5d} canvases, '
              f'{info["num_digits"]:6d} digits, '
              f'labels 0-9: {info["label_hist"]}')
    print('  images/{split}/*.png, masks/{split}/*.png, '
          'annotations/instances_{split}.json, meta/{split}.txt')
    return 0


if __name__ == '__main__':
    sys.exit(main())
