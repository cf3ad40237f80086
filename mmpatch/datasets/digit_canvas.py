"""Drawing of the UltraDigits canvases: the digit bank and the renderer.

The pieces every UltraDigits generator (:mod:`.ultradigits`,
:mod:`.ultradigits_scales`, :mod:`.ultradigits_cls`) draws with:

* the *digit bank*: scikit-learn's handwritten digits
  (:func:`sklearn.datasets.load_digits`, (8, 8) intensities 0..16, no
  download), grouped by value and partitioned 70/15/15 between the
  :data:`SPLITS` by sample index (:func:`load_digit_bank`);
* one digit upscaled to a soft alpha map and a stroke mask
  (:func:`render_digit`);
* the random layout of a canvas: digit values that sum to 0..9, log-uniform
  square sizes, and non-overlapping squares (:func:`sample_digit_values`,
  :func:`sample_digit_sizes`, :func:`place_squares`);
* the textured, noisy background (:func:`make_background`) and the
  per-canvas noise and colour gain (:func:`finish_canvas`);
* a whole UltraDigits canvas with its stroke mask and tight digit boxes
  (:func:`render_canvas`).

Images are ``(H, W)`` float32 grey levels while they are composed and
``(H, W, 3)`` uint8 when finished. Every function draws from the
:class:`numpy.random.Generator` it is given, so a canvas is a function of
its generator's seed. Only numpy, OpenCV and (lazily, on first use of the
bank) scikit-learn are imported.
"""
import math
from functools import lru_cache
from typing import Dict, List, Optional, Sequence, Tuple, Union

import cv2
import numpy as np

#: the splits, in the order of their ``split_index`` in the canvas seeds
SPLITS: Tuple[str, ...] = ('train', 'val', 'test')

# A digit's 8x8 image is padded by one empty pixel on each side before the
# upscaling, so the strokes fade out inside the square and never touch it.
_PAD = 1
# Soft alpha ramp of the upscaled intensity (0..1); the stroke mask is
# alpha >= 0.5, i.e. the upscaled intensity >= 0.5 (8 on sklearn's 0..16).
_ALPHA_LO, _ALPHA_HI = 0.3, 0.7
#: empty pixels kept between the squares of two digits
GAP = 2
_MAX_TRIES = 200
# sklearn sample index % 20 -> split: 0..13 train, 14..16 val, 17..19 test.
_BANK_SPLIT_OF_MOD20 = ('train', ) * 14 + ('val', ) * 3 + ('test', ) * 3

SizeType = Union[int, Sequence[int]]


def to_hw(size: SizeType) -> Tuple[int, int]:
    """Normalise a canvas size, an int or an ``(H, W)`` sequence, to an
    ``(H, W)`` tuple of ints."""
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


def overlaps(box: Tuple[int, int, int], placed: List[Tuple[int, int, int]],
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
    again. The squares keep :data:`GAP` empty pixels between each other.

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
                         if not overlaps((x, y, size), placed, GAP)), None)
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


def blend_ink(gray: np.ndarray, alpha: np.ndarray, x: int, y: int,
              ink: float) -> None:
    """Draw a digit's soft alpha with ink grey level ``ink``, in place.

    Args:
        gray (np.ndarray): (H, W) float32 canvas, modified in place.
        alpha (np.ndarray): (s, s) float32 in [0, 1], drawn with its top-left
            corner at ``(x, y)``; it must lie inside the canvas.
        x (int): left column of the square.
        y (int): top row of the square.
        ink (float): grey level where ``alpha`` is 1.
    """
    s = alpha.shape[0]
    region = gray[y:y + s, x:x + s]
    region += alpha * (ink - region)


def tight_box(stroke: np.ndarray, x: int, y: int) -> List[int]:
    """The box tight around a digit's stroke pixels, in canvas pixels.

    Args:
        stroke (np.ndarray): (s, s) bool stroke mask of the digit's square,
            with at least one pixel set.
        x (int): left column of the square on the canvas.
        y (int): top row of the square on the canvas.

    Returns:
        list[int]: ``[x, y, w, h]`` (pixel-edge convention): it covers every
        stroke pixel and lies inside the square.
    """
    rows = np.flatnonzero(stroke.any(axis=1))
    cols = np.flatnonzero(stroke.any(axis=0))
    return [
        x + int(cols[0]), y + int(rows[0]),
        int(cols[-1] - cols[0] + 1),
        int(rows[-1] - rows[0] + 1)
    ]


def finish_canvas(rng: np.random.Generator, gray: np.ndarray) -> np.ndarray:
    """Add sensor noise and tint a composed grey canvas into 3 channels.

    Gaussian noise with a per-canvas sigma in 2..4 is added to ``gray`` (in
    place), then a per-canvas gain in 0.85..1.15 per channel makes the
    colour image, rounded and clipped to 0..255.

    Args:
        rng (np.random.Generator): the canvas's random generator.
        gray (np.ndarray): (H, W) float32 grey levels, modified in place.

    Returns:
        np.ndarray: (H, W, 3) uint8 image.
    """
    gray += rng.uniform(2.0, 4.0) * rng.standard_normal(
        gray.shape, dtype=np.float32)
    gain = rng.uniform(0.85, 1.15, 3).astype(np.float32)
    image = gray[..., None] * gain
    np.rint(image, out=image)
    np.clip(image, 0, 255, out=image)
    return image.astype(np.uint8)


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
        blend_ink(gray, alpha, x, y, rng.uniform(185.0, 250.0))
        mask[y:y + s, x:x + s][stroke] = 1
        digits.append(
            dict(
                digit=int(value),
                square=(int(x), int(y), int(s)),
                bbox=tight_box(stroke, x, y),
                num_pixels=int(stroke.sum())))
    return finish_canvas(rng, gray), mask, digits
