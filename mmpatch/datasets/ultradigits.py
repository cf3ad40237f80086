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

Only numpy, scikit-learn, OpenCV and the standard library are used; nothing
here imports torch or the OpenMMLab libraries.
"""
import json
import math
import os
import os.path as osp
from functools import lru_cache
from typing import Dict, List, Optional, Sequence, Tuple, Union

import cv2
import numpy as np

FORMAT_VERSION = 1
SPLITS: Tuple[str, ...] = ('train', 'val', 'test')
ULTRADIGITS_CLASSES: Tuple[str, ...] = tuple(str(d) for d in range(10))
ULTRADIGITS_SEG_CLASSES: Tuple[str, ...] = ('background', 'stroke')
ULTRADIGITS_SEG_PALETTE: List[List[int]] = [[0, 0, 0], [255, 64, 64]]
STAMP_FILE = osp.join('meta', 'ultradigits.json')

# A digit's 8x8 image is padded by one empty pixel on each side before the
# upscaling, so the strokes fade out inside the square and never touch it.
_PAD = 1
# Soft alpha ramp of the upscaled intensity (0..1); the stroke mask is
# alpha >= 0.5, i.e. the upscaled intensity >= 0.5 (8 on sklearn's 0..16).
_ALPHA_LO, _ALPHA_HI = 0.3, 0.7
# Empty pixels kept between the squares of two digits.
_GAP = 2
_MAX_TRIES = 200
# sklearn sample index % 20 -> split: 0..13 train, 14..16 val, 17..19 test.
_BANK_SPLIT_OF_MOD20 = ('train', ) * 14 + ('val', ) * 3 + ('test', ) * 3

SizeType = Union[int, Sequence[int]]


def _pair(size: SizeType) -> Tuple[int, int]:
    """Normalise an int or an (H, W) sequence to a ``(H, W)`` tuple."""
    if isinstance(size, (int, np.integer)):
        return int(size), int(size)
    size = tuple(int(s) for s in size)
    if len(size) != 2:
        raise ValueError(f'canvas_size must be an int or (H, W), got {size}')
    return size


@lru_cache(maxsize=None)
def _load_sklearn_digits() -> Tuple[np.ndarray, np.ndarray]:
    """Cached ``(images, targets)``: (N, 8, 8) float 0..16 and (N,) int."""
    from sklearn.datasets import load_digits
    bunch = load_digits()
    images = np.ascontiguousarray(bunch.images, dtype=np.float32)
    targets = np.asarray(bunch.target, dtype=np.int64)
    images.setflags(write=False)
    targets.setflags(write=False)
    return images, targets


def load_digit_bank(split: Optional[str] = None) -> Dict[int, np.ndarray]:
    """Group scikit-learn's handwritten digits by value.

    Args:
        split (str, optional): ``'train'``, ``'val'`` or ``'test'`` to keep
            only the samples reserved for that split (70/15/15 by sample
            index: ``index % 20`` in 0..13, 14..16, 17..19); None keeps all
            1797 samples.

    Returns:
        dict[int, np.ndarray]: digit value (0..9) -> read-only float32 array
        of shape (n_d, 8, 8) with intensities in 0..16, in sample order.
    """
    images, targets = _load_sklearn_digits()
    keep = np.ones(len(targets), dtype=bool)
    if split is not None:
        if split not in SPLITS:
            raise ValueError(f'split must be one of {SPLITS}, got {split!r}')
        mod = np.arange(len(targets)) % len(_BANK_SPLIT_OF_MOD20)
        owner = np.array(_BANK_SPLIT_OF_MOD20)[mod]
        keep = owner == split
    bank = {}
    for d in range(10):
        arr = images[keep & (targets == d)]
        arr.setflags(write=False)
        bank[d] = arr
    return bank


def render_digit(digit: np.ndarray,
                 size: int) -> Tuple[np.ndarray, np.ndarray]:
    """Upscale one 8x8 digit to a ``size x size`` alpha map and stroke mask.

    Args:
        digit (np.ndarray): (8, 8) intensities in 0..16.
        size (int): side of the output square in pixels.

    Returns:
        tuple[np.ndarray, np.ndarray]: ``alpha`` (size, size) float32 in
        [0, 1], a soft rendering of the strokes, and ``mask`` (size, size)
        bool, the stroke pixels (``alpha >= 0.5``).
    """
    img = np.pad(np.asarray(digit, np.float32) / 16.0, _PAD)
    up = cv2.resize(img, (size, size), interpolation=cv2.INTER_CUBIC)
    alpha = np.clip((up - _ALPHA_LO) / (_ALPHA_HI - _ALPHA_LO), 0.0, 1.0)
    mask = alpha >= 0.5
    return alpha.astype(np.float32), mask


def sample_digit_values(rng: np.random.Generator,
                        num_digits: int) -> np.ndarray:
    """Draw ``num_digits`` digit values whose sum is in 0..9.

    The sum is drawn uniformly from 0..9 (so the canvas labels are balanced),
    then split into a uniformly random composition (stars and bars) of
    ``num_digits`` non-negative parts.

    Returns:
        np.ndarray: (num_digits,) int64, each in 0..9, summing to <= 9.
    """
    total = int(rng.integers(0, 10))
    slots = total + num_digits - 1
    bars = np.sort(rng.choice(slots, size=num_digits - 1, replace=False))
    edges = np.concatenate([[-1], bars, [slots]])
    return (np.diff(edges) - 1).astype(np.int64)


def sample_digit_sizes(rng: np.random.Generator, num_digits: int,
                       min_size: int, max_size: int) -> np.ndarray:
    """Draw square digit sizes log-uniformly in ``[min_size, max_size]``.

    Returns:
        np.ndarray: (num_digits,) int64 sizes, largest first.
    """
    logs = rng.uniform(math.log(min_size), math.log(max_size + 1), num_digits)
    sizes = np.clip(np.floor(np.exp(logs)), min_size, max_size)
    return np.sort(sizes.astype(np.int64))[::-1].copy()


def _overlaps(box: Tuple[int, int, int], placed: List[Tuple[int, int, int]],
              gap: int) -> bool:
    """Whether square ``(x, y, s)`` comes within ``gap`` px of a placed one."""
    x, y, s = box
    for px, py, ps in placed:
        if (x < px + ps + gap and px < x + s + gap and y < py + ps + gap
                and py < y + s + gap):
            return True
    return False


def place_squares(rng: np.random.Generator,
                  sizes: Sequence[int],
                  canvas_hw: Tuple[int, int],
                  min_size: int,
                  max_tries: int = _MAX_TRIES) -> List[Tuple[int, int, int]]:
    """Place non-overlapping squares uniformly on the canvas.

    Each square is tried at up to ``max_tries`` uniform positions; when all
    collide its size is halved (not below ``min_size``) and it is tried
    again. The squares keep ``_GAP`` empty pixels between each other.

    Args:
        rng (np.random.Generator): random generator.
        sizes (Sequence[int]): square sides, placed in this order.
        canvas_hw (tuple[int, int]): canvas ``(H, W)``.
        min_size (int): smallest side a square may shrink to.
        max_tries (int): positions tried per size.

    Returns:
        list[tuple[int, int, int]]: ``(x, y, size)`` of each square (top-left
        corner), in the order of ``sizes``.
    """
    h, w = canvas_hw
    placed: List[Tuple[int, int, int]] = []
    for size in sizes:
        size = int(size)
        while True:
            xs = rng.integers(0, w - size + 1, max_tries)
            ys = rng.integers(0, h - size + 1, max_tries)
            spot = next(((int(x), int(y), size) for x, y in zip(xs, ys)
                         if not _overlaps((x, y, size), placed, _GAP)), None)
            if spot is not None:
                placed.append(spot)
                break
            if size <= min_size:
                raise RuntimeError(
                    f'could not place {len(sizes)} digits on a {h}x{w} '
                    'canvas without overlap; use a larger canvas or fewer '
                    'digits')
            size = max(min_size, size // 2)
    return placed


def _smooth_noise(rng: np.random.Generator, canvas_hw: Tuple[int, int],
                  cell: int) -> np.ndarray:
    """Smooth random field: a coarse normal grid upscaled bicubically.

    Args:
        rng (np.random.Generator): random generator.
        canvas_hw (tuple[int, int]): ``(H, W)``.
        cell (int): approximate period of the variations, in pixels.

    Returns:
        np.ndarray: (H, W) float32 with roughly unit variance.
    """
    h, w = canvas_hw
    gh, gw = max(2, h // cell + 2), max(2, w // cell + 2)
    grid = rng.standard_normal((gh, gw), dtype=np.float32)
    return cv2.resize(grid, (w, h), interpolation=cv2.INTER_CUBIC)


def _scratch_layer(rng: np.random.Generator,
                   canvas_hw: Tuple[int, int]) -> Optional[np.ndarray]:
    """0-3 thin anti-aliased random polylines ("scratches"), or None.

    They are clutter that a global threshold would take for strokes; they
    stay dimmer than the digits and are background in the mask.

    Returns:
        np.ndarray | None: (H, W) float32 coverage in [0, 1].
    """
    h, w = canvas_hw
    num = int(rng.integers(0, 4))
    if num == 0:
        return None
    layer = np.zeros((h, w), np.uint8)
    step = max(8.0, min(h, w) / 12.0)
    for _ in range(num):
        start = rng.uniform((0, 0), (w, h))
        walk = rng.normal(0.0, step, (int(rng.integers(3, 7)), 2))
        pts = np.cumsum(np.vstack([start, walk]), axis=0)
        pts = np.rint(pts * 16).astype(np.int32)  # 4 fractional bits
        cv2.polylines(
            layer, [pts],
            False,
            255,
            int(rng.integers(1, 3)),
            cv2.LINE_AA,
            shift=4)
    return layer.astype(np.float32) * (1.0 / 255.0)


def make_background(rng: np.random.Generator,
                    canvas_hw: Tuple[int, int]) -> np.ndarray:
    """A dark grey background with low- and mid-frequency texture.

    The base brightness (25..95) is drawn per canvas; a broad shading (cell
    ~1/4 of the short side) and a blotchy texture (cell 48 px) vary it by
    about +-20 grey levels, and 0-3 dim scratches (100..165) are drawn on
    it. All of it stays well below the digits' ink (185..250).

    Returns:
        np.ndarray: (H, W) float32 grey levels.
    """
    h, w = canvas_hw
    base = rng.uniform(25.0, 95.0)
    broad = _smooth_noise(rng, canvas_hw, max(64, min(h, w) // 4))
    blotch = _smooth_noise(rng, canvas_hw, 48)
    bg = broad
    bg *= 10.0
    bg += 6.0 * blotch
    bg += base
    scratches = _scratch_layer(rng, canvas_hw)
    if scratches is not None:
        level = rng.uniform(100.0, 165.0)
        bg += scratches * (level - bg)
    return bg


def render_canvas(
        rng: np.random.Generator, bank: Dict[int, np.ndarray],
        canvas_hw: Tuple[int, int], digits_per_canvas: Tuple[int, int],
        min_digit_size: int,
        max_digit_size: int) -> Tuple[np.ndarray, np.ndarray, List[dict]]:
    """Render one canvas with its stroke mask and per-digit annotations.

    The canvas is composed in grey levels (background, digits with a soft
    alpha, gaussian noise with sigma 2..4) and tinted into 3 channels by a
    per-canvas colour gain (0.85..1.15 per channel).

    Args:
        rng (np.random.Generator): the canvas's own random generator.
        bank (dict[int, np.ndarray]): digit value -> (n, 8, 8) samples.
        canvas_hw (tuple[int, int]): ``(H, W)``.
        digits_per_canvas (tuple[int, int]): inclusive range of the number
            of digits.
        min_digit_size (int): smallest digit square side.
        max_digit_size (int): largest digit square side.

    Returns:
        tuple: ``image`` (H, W, 3) uint8, ``mask`` (H, W) uint8 in {0, 1},
        and one dict per digit with ``digit`` (int), ``square``
        ``(x, y, size)`` (top-left corner and side of the digit's square),
        ``bbox`` ``[x, y, w, h]`` (ints, tight around the digit's mask
        pixels) and ``num_pixels`` (its mask pixels).
    """
    h, w = canvas_hw
    num = int(rng.integers(digits_per_canvas[0], digits_per_canvas[1] + 1))
    values = sample_digit_values(rng, num)
    sizes = sample_digit_sizes(rng, num, min_digit_size, max_digit_size)
    squares = place_squares(rng, sizes, canvas_hw, min_digit_size)

    gray = make_background(rng, canvas_hw)
    mask = np.zeros((h, w), np.uint8)
    digits = []
    for value, (x, y, s) in zip(values, squares):
        samples = bank[int(value)]
        sample = samples[int(rng.integers(len(samples)))]
        alpha, stroke = render_digit(sample, s)
        if not stroke.any():  # cannot happen with sklearn's digits
            raise RuntimeError(f'digit {value} rendered empty at size {s}')
        ink = rng.uniform(185.0, 250.0)
        region = gray[y:y + s, x:x + s]
        region += alpha * (ink - region)
        mask[y:y + s, x:x + s][stroke] = 1
        rows = np.flatnonzero(stroke.any(axis=1))
        cols = np.flatnonzero(stroke.any(axis=0))
        bbox = [
            x + int(cols[0]), y + int(rows[0]),
            int(cols[-1] - cols[0] + 1),
            int(rows[-1] - rows[0] + 1)
        ]
        digits.append(
            dict(
                digit=int(value),
                square=(int(x), int(y), int(s)),
                bbox=bbox,
                num_pixels=int(stroke.sum())))
    gray += rng.uniform(2.0, 4.0) * rng.standard_normal(
        (h, w), dtype=np.float32)
    gain = rng.uniform(0.85, 1.15, 3).astype(np.float32)
    image = gray[..., None] * gain
    np.rint(image, out=image)
    np.clip(image, 0, 255, out=image)
    return image.astype(np.uint8), mask, digits


def _coco_categories() -> List[dict]:
    """COCO categories: ``{'id': d, 'name': str(d)}`` for d in 0..9."""
    return [dict(id=d, name=str(d), supercategory='digit') for d in range(10)]


def _write_png(path: str, img: np.ndarray) -> None:
    """Write a PNG with fixed parameters (deterministic bytes)."""
    if not cv2.imwrite(path, img, [cv2.IMWRITE_PNG_COMPRESSION, 1]):
        raise IOError(f'failed to write {path}')


def _write_text(path: str, text: str) -> None:
    """Write UTF-8 text with ``\\n`` line endings."""
    with open(path, 'w', encoding='utf-8', newline='\n') as f:
        f.write(text)


def _clear_pngs(folder: str) -> None:
    """Remove the ``*.png`` files a previous generation left in ``folder``."""
    if not osp.isdir(folder):
        return
    for name in sorted(os.listdir(folder)):
        if name.endswith('.png'):
            os.remove(osp.join(folder, name))


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


def read_stamp(out_dir: str, stamp_file: str = STAMP_FILE) -> Optional[dict]:
    """The stamp ``meta/ultradigits.json`` (or ``stamp_file``, relative to
    ``out_dir``: the other UltraDigits generators' stamps) of ``out_dir``,
    or None."""
    path = osp.join(out_dir, stamp_file)
    if not osp.isfile(path):
        return None
    try:
        with open(path, encoding='utf-8') as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def ultradigits_up_to_date(out_dir: str,
                           seed: int = 0,
                           canvas_size: SizeType = 1024,
                           num_train: int = 64,
                           num_val: int = 16,
                           num_test: int = 16,
                           digits_per_canvas: Tuple[int, int] = (3, 5),
                           min_digit_size: int = 16,
                           max_digit_frac: float = 0.25) -> bool:
    """Whether ``out_dir`` holds a complete generation with these arguments.

    True when the stamp exists, has the current format version and exactly
    these arguments (see :func:`generate_ultradigits`), and every file the
    generation writes is still there (contents are not checked).
    """
    stamp = read_stamp(out_dir)
    if stamp is None or stamp.get('format_version') != FORMAT_VERSION:
        return False
    counts = dict(train=num_train, val=num_val, test=num_test)
    args = _stamp_args(seed, _pair(canvas_size), counts,
                       tuple(digits_per_canvas), min_digit_size,
                       max_digit_frac)
    if stamp.get('args') != args:
        return False
    return all(
        osp.isfile(osp.join(out_dir, f)) for f in _expected_files(counts))


def _expected_files(counts: Dict[str, int]) -> List[str]:
    """Paths (relative to ``out_dir``) of every file a generation writes."""
    files = [osp.join('meta', 'classes.txt')]
    for split in SPLITS:
        files += [
            osp.join('annotations', f'instances_{split}.json'),
            osp.join('meta', f'{split}.txt')
        ]
        for idx in range(counts[split]):
            files += [
                osp.join('images', split, f'{idx:06d}.png'),
                osp.join('masks', split, f'{idx:06d}.png')
            ]
    return files


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
        _clear_pngs(folder)
    bank = load_digit_bank(split)

    images, annotations, lines = [], [], []
    label_hist = [0] * 10
    for idx in range(num):
        rng = np.random.default_rng([int(seed), split_index, idx])
        image, mask, digits = render_canvas(rng, bank, canvas_hw,
                                            digits_per_canvas, min_digit_size,
                                            max_digit_size)
        name = f'{idx:06d}'
        _write_png(osp.join(img_dir, f'{name}.png'), image)
        _write_png(osp.join(mask_dir, f'{name}.png'), mask)
        label = sum(d['digit'] for d in digits)
        label_hist[label] += 1
        lines.append(f'{name}.png {label}\n')
        img_id = idx + 1
        images.append(
            dict(id=img_id, file_name=f'{name}.png', width=w, height=h))
        for d in digits:
            annotations.append(
                dict(
                    id=len(annotations) + 1,
                    image_id=img_id,
                    category_id=d['digit'],
                    bbox=[float(v) for v in d['bbox']],
                    area=float(d['bbox'][2] * d['bbox'][3]),
                    iscrowd=0))

    coco = dict(
        info=dict(
            description='UltraDigits (mmpatch): handwritten digits from '
            'sklearn.datasets.load_digits on large canvases',
            version=str(FORMAT_VERSION)),
        licenses=[],
        images=images,
        annotations=annotations,
        categories=_coco_categories())
    _write_text(
        osp.join(out_dir, 'annotations', f'instances_{split}.json'),
        json.dumps(coco))
    _write_text(osp.join(out_dir, 'meta', f'{split}.txt'), ''.join(lines))
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
    canvas_hw = _pair(canvas_size)
    digits_per_canvas = (int(digits_per_canvas[0]), int(digits_per_canvas[1]))
    max_size = _check_args(seed, canvas_hw, digits_per_canvas, min_digit_size,
                           max_digit_frac)
    counts = dict(train=int(num_train), val=int(num_val), test=int(num_test))
    args = _stamp_args(seed, canvas_hw, counts, digits_per_canvas,
                       min_digit_size, max_digit_frac)

    for sub in ('annotations', 'meta'):
        os.makedirs(osp.join(out_dir, sub), exist_ok=True)
    stamp_path = osp.join(out_dir, STAMP_FILE)
    if osp.exists(stamp_path):
        os.remove(stamp_path)

    splits = {}
    for split_index, split in enumerate(SPLITS):
        splits[split] = _generate_split(out_dir, split, split_index,
                                        counts[split], seed, canvas_hw,
                                        digits_per_canvas, min_digit_size,
                                        max_size)
    _write_text(
        osp.join(out_dir, 'meta', 'classes.txt'),
        ''.join(f'{c}\n' for c in ULTRADIGITS_CLASSES))
    stamp = dict(
        format_version=FORMAT_VERSION,
        generator='mmpatch.datasets.ultradigits',
        args=args,
        splits=splits)
    _write_text(stamp_path, json.dumps(stamp, indent=2) + '\n')
    return dict(out_dir=out_dir, args=args, splits=splits)
