"""UltraDigits: a deterministic, embedded ultra-high-resolution dataset.

Each canvas is a large RGB image (1024x1024 by default) with 3-5 real
handwritten digits from :func:`sklearn.datasets.load_digits` (8x8, values
0..16, shipped with scikit-learn, no download) at very different scales,
upscaled smoothly and placed anywhere on a mildly textured, noisy background.
Digits never overlap. One generator writes the three annotation kinds that
mmpretrain, mmdet and mmseg read natively:

* a class label per canvas, as in UltraMNIST: the sum of its digits, which is
  kept in 0..9 by construction (the sum is drawn first, uniformly, then split
  into a random composition of 3-5 digits);
* one COCO box per digit (``category_id`` = the digit value);
* a stroke mask (0 = background, 1 = stroke).

On-disk layout under ``out_dir`` (``{split}`` is ``train``, ``val``, ``test``;
``{name}`` is the zero-padded index ``000000``, ``000001``, ...)::

    images/{split}/{name}.png            3-channel uint8 canvas (BGR on disk)
    masks/{split}/{name}.png             1-channel uint8, 0 = bg, 1 = stroke
    annotations/instances_{split}.json   COCO detection annotations
    meta/{split}.txt                     mmpretrain list: "{name}.png {label}"
    meta/classes.txt                     the 10 class names '0'..'9'
    meta/ultradigits.json                stamp: format version + arguments

COCO details: categories are ``{'id': d, 'name': str(d)}`` for d = 0..9 in
this order (category id 0 is valid COCO; pycocotools and mmdet map category
ids to labels through the class names, so label i == digit i). Image and
annotation ids start at 1 in each split (annotation id 0 breaks the matching
bookkeeping of ``COCOeval``). ``file_name`` is ``'{name}.png'``; ``bbox`` is
``[x, y, w, h]`` (floats, pixel-edge convention) tight around the digit's
stroke-mask pixels, so it covers every one of them and lies inside the canvas;
``area`` is ``w * h``. A digit's square side is log-uniform in
``[min_digit_size, max_digit_frac * short side]``; its tight box is smaller
(a '1' drawn in a 16 px square is about 5 px wide).

The sum rule makes small digit values common: with 3-5 digits and balanced
labels, about half of the digits are 0 and 7, 8, 9 are rare (< 1 % each), so
detection classes are imbalanced by construction, as in UltraMNIST.

Config fields that load each split (``data_root = out_dir``)::

    # mmpretrain
    dict(type='CustomDataset', data_root=data_root,
         ann_file='meta/train.txt', data_prefix='images/train',
         metainfo=dict(classes=ULTRADIGITS_CLASSES))
    # mmdet
    dict(type='CocoDataset', data_root=data_root,
         ann_file='annotations/instances_train.json',
         data_prefix=dict(img='images/train/'),
         metainfo=dict(classes=ULTRADIGITS_CLASSES))
    # mmseg
    dict(type='BaseSegDataset', data_root=data_root,
         data_prefix=dict(img_path='images/train',
                          seg_map_path='masks/train'),
         img_suffix='.png', seg_map_suffix='.png', reduce_zero_label=False,
         metainfo=dict(classes=ULTRADIGITS_SEG_CLASSES,
                       palette=ULTRADIGITS_SEG_PALETTE))

Determinism: every random draw comes from ``np.random.default_rng([seed,
split_index, image_index])``, so the same arguments give byte-identical files
(with the same numpy/OpenCV builds), and a split's images do not depend on
the sizes of the other splits. The sklearn digit samples are partitioned
between the splits (70/15/15, by sample index), so validation and test
canvases use handwriting never seen in training.

The canvases are drawn by :mod:`.digit_canvas` and written and stamped by
:mod:`.generator_io`, as the other UltraDigits generators' are. Only numpy,
scikit-learn, OpenCV and the standard library are used; nothing here imports
torch or the OpenMMLab libraries.
"""
import os
import os.path as osp
from typing import Dict, List, Tuple

import numpy as np

from .digit_canvas import (SPLITS, SizeType, load_digit_bank, render_canvas,
                           to_hw)
from .generator_io import (STAMP_FILE, clear_pngs, coco_annotation,
                           expected_files, generator_arguments, remove_stamp,
                           stamp_up_to_date, write_coco, write_png,
                           write_stamp, write_text)

FORMAT_VERSION = 1
ULTRADIGITS_CLASSES: Tuple[str, ...] = tuple(str(d) for d in range(10))
ULTRADIGITS_SEG_CLASSES: Tuple[str, ...] = ('background', 'stroke')
ULTRADIGITS_SEG_PALETTE: List[List[int]] = [[0, 0, 0], [255, 64, 64]]


def _stamp_args(seed: int, canvas_hw: Tuple[int, int], counts: Dict[str, int],
                digits_per_canvas: Tuple[int, int], min_digit_size: int,
                max_digit_frac: float) -> dict:
    """The arguments recorded in (and compared against) the stamp."""
    return dict(
        seed=int(seed),
        canvas_size=[int(canvas_hw[0]), int(canvas_hw[1])],
        num_train=int(counts['train']),
        num_val=int(counts['val']),
        num_test=int(counts['test']),
        digits_per_canvas=[
            int(digits_per_canvas[0]),
            int(digits_per_canvas[1])
        ],
        min_digit_size=int(min_digit_size),
        max_digit_frac=float(max_digit_frac))


def _check_args(seed: int, canvas_hw: Tuple[int, int],
                digits_per_canvas: Tuple[int, int], min_digit_size: int,
                max_digit_frac: float) -> int:
    """Validate the arguments; return the largest digit size in pixels."""
    if seed < 0:
        raise ValueError(f'seed must be >= 0, got {seed}')
    lo, hi = digits_per_canvas
    if not 1 <= lo <= hi:
        raise ValueError(f'bad digits_per_canvas {digits_per_canvas}')
    if min_digit_size < 4:
        raise ValueError('min_digit_size must be >= 4 px')
    max_size = int(max_digit_frac * min(canvas_hw))
    if max_size < min_digit_size:
        raise ValueError(
            f'max_digit_frac * short side = {max_size} px is below '
            f'min_digit_size = {min_digit_size} px; enlarge the canvas')
    return max_size


def ultradigits_up_to_date(out_dir: str, **kwargs) -> bool:
    """Whether ``out_dir`` holds a complete generation by
    ``generate_ultradigits(out_dir, **kwargs)``.

    True when the stamp exists, has the current format version and exactly
    these arguments (defaults as in :func:`generate_ultradigits`), and every
    file the generation writes is still there (contents are not checked).
    """
    a = generator_arguments(generate_ultradigits, out_dir, kwargs)
    counts = dict(train=a['num_train'], val=a['num_val'], test=a['num_test'])
    args = _stamp_args(a['seed'], to_hw(a['canvas_size']), counts,
                       tuple(a['digits_per_canvas']), a['min_digit_size'],
                       a['max_digit_frac'])
    files = expected_files(
        counts,
        image_dirs=('images', 'masks'),
        split_files=(osp.join('annotations', 'instances_{split}.json'),
                     osp.join('meta', '{split}.txt')),
        common=(osp.join('meta', 'classes.txt'), ))
    return stamp_up_to_date(out_dir, STAMP_FILE, FORMAT_VERSION, args, files)


def _generate_split(out_dir: str, split: str, split_index: int, num: int,
                    seed: int, canvas_hw: Tuple[int, int],
                    digits_per_canvas: Tuple[int, int], min_digit_size: int,
                    max_digit_size: int) -> Dict[str, object]:
    """Write one split's images, masks, COCO json and mmpretrain list.

    Returns:
        dict: ``num_images``, ``num_digits`` and ``label_hist`` (10 counts).
    """
    h, w = canvas_hw
    img_dir = osp.join(out_dir, 'images', split)
    mask_dir = osp.join(out_dir, 'masks', split)
    for folder in (img_dir, mask_dir):
        os.makedirs(folder, exist_ok=True)
        clear_pngs(folder)
    bank = load_digit_bank(split)

    images, annotations, lines = [], [], []
    label_hist = [0] * 10
    for idx in range(num):
        rng = np.random.default_rng([int(seed), split_index, idx])
        image, mask, digits = render_canvas(rng, bank, canvas_hw,
                                            digits_per_canvas, min_digit_size,
                                            max_digit_size)
        name = f'{idx:06d}'
        write_png(osp.join(img_dir, f'{name}.png'), image)
        write_png(osp.join(mask_dir, f'{name}.png'), mask)
        label = sum(d['digit'] for d in digits)
        label_hist[label] += 1
        lines.append(f'{name}.png {label}\n')
        img_id = idx + 1
        images.append(
            dict(id=img_id, file_name=f'{name}.png', width=w, height=h))
        for d in digits:
            annotations.append(
                coco_annotation(
                    len(annotations) + 1, img_id, d['digit'], d['bbox']))

    write_coco(
        osp.join(out_dir, 'annotations', f'instances_{split}.json'),
        'UltraDigits (mmpatch): handwritten digits from '
        'sklearn.datasets.load_digits on large canvases', FORMAT_VERSION,
        images, annotations)
    write_text(osp.join(out_dir, 'meta', f'{split}.txt'), ''.join(lines))
    return dict(
        num_images=num, num_digits=len(annotations), label_hist=label_hist)


def generate_ultradigits(out_dir: str,
                         seed: int = 0,
                         canvas_size: SizeType = 1024,
                         num_train: int = 64,
                         num_val: int = 16,
                         num_test: int = 16,
                         digits_per_canvas: Tuple[int, int] = (3, 5),
                         min_digit_size: int = 16,
                         max_digit_frac: float = 0.25) -> dict:
    """Generate the UltraDigits dataset under ``out_dir``.

    See the module docstring for the on-disk layout and the dataset configs.
    Existing ``*.png`` files in ``images/{split}`` and ``masks/{split}`` are
    removed first, so a smaller regeneration leaves no stale canvases; the
    stamp ``meta/ultradigits.json`` is removed at the start and written last,
    so an interrupted run never looks complete.

    Args:
        out_dir (str): output folder (created if missing).
        seed (int): random seed; same seed and arguments give identical
            bytes.
        canvas_size (int | tuple[int, int]): canvas ``(H, W)`` or a side.
        num_train (int): number of training canvases.
        num_val (int): number of validation canvases.
        num_test (int): number of test canvases.
        digits_per_canvas (tuple[int, int]): inclusive range of the number
            of digits on a canvas.
        min_digit_size (int): smallest side of a digit's square, in pixels.
        max_digit_frac (float): largest side of a digit's square as a
            fraction of the canvas's short side. Sizes are log-uniform in
            between, so small digits are frequent.

    Returns:
        dict: summary with ``out_dir``, ``args`` (as in the stamp) and
        ``splits``: per split ``num_images``, ``num_digits``, ``label_hist``.
    """
    canvas_hw = to_hw(canvas_size)
    digits_per_canvas = (int(digits_per_canvas[0]), int(digits_per_canvas[1]))
    max_size = _check_args(seed, canvas_hw, digits_per_canvas, min_digit_size,
                           max_digit_frac)
    counts = dict(train=int(num_train), val=int(num_val), test=int(num_test))
    args = _stamp_args(seed, canvas_hw, counts, digits_per_canvas,
                       min_digit_size, max_digit_frac)

    for sub in ('annotations', 'meta'):
        os.makedirs(osp.join(out_dir, sub), exist_ok=True)
    remove_stamp(out_dir, STAMP_FILE)

    splits = {}
    for split_index, split in enumerate(SPLITS):
        splits[split] = _generate_split(out_dir, split, split_index,
                                        counts[split], seed, canvas_hw,
                                        digits_per_canvas, min_digit_size,
                                        max_size)
    write_text(
        osp.join(out_dir, 'meta', 'classes.txt'),
        ''.join(f'{c}\n' for c in ULTRADIGITS_CLASSES))
    write_stamp(out_dir, STAMP_FILE, FORMAT_VERSION,
                'mmpatch.datasets.ultradigits', args, splits)
    return dict(out_dir=out_dir, args=args, splits=splits)
