"""UltraDigits-cls: canvas labels that need both the detail and the whole.

Each canvas (1024x1024 by default) carries one **large** digit, a 6 or a 9
with a side of 300-400 px, and a lattice of several hundred **small**
digits, 8-10 px, which are all 0 or all 8. The label names both::

    label = 2 * (large digit is 9) + (small digits are 8)
    classes: 'large6_small0', 'large6_small8', 'large9_small0', 'large9_small8'

Labels take the four classes in turn, so every split is balanced.

* The small digits are told apart by their shape only: each is warped so
  that its ink, centroid and spread are the same for a 0 and an 8
  (:func:`normalize_moments`). Downsampled to the side a stock classifier
  trains at in the same memory (296 px here: 2.3-2.9 px digits), the shape
  is gone, and with it the cue that a few hundred digits would otherwise
  add up to (average brightness, or where the ink sits in a blob). PatchGD's
  patches see them at full resolution.
* The large digit spans 3-4 patches of 128 px a side, so no patch sees more
  than a stretch of its stroke; the downsampled global patch sees it whole.
  That is what PatchGD without the global patch misses.

The images come from the same pieces as :mod:`.ultradigits` (scikit-learn's
handwritten digits split 70/15/15 between train/val/test, the textured
background, ink, noise and colour gain), and the files are those of
mmpretrain's ``CustomDataset``::

    images/{split}/{name}.png    3-channel uint8 canvas
    meta/{split}.txt             "{name}.png {label}"
    meta/classes.txt             the 4 class names
    meta/ultradigits_cls.json    stamp: format version + arguments

Every random draw comes from ``np.random.default_rng([seed, split_index,
image_index])``, so the same arguments give the same files.
"""
import os
import os.path as osp
from typing import Dict, Tuple

import cv2
import numpy as np

from .digit_canvas import (SPLITS, blend_ink, finish_canvas, load_digit_bank,
                           make_background, render_digit)
from .generator_io import (clear_pngs, expected_files, generator_arguments,
                           remove_stamp, stamp_up_to_date, write_png,
                           write_stamp, write_text)

CLS_FORMAT_VERSION = 1
ULTRADIGITS_CLS_CLASSES: Tuple[str, ...] = ('large6_small0', 'large6_small8',
                                            'large9_small0', 'large9_small8')
CLS_STAMP_FILE = osp.join('meta', 'ultradigits_cls.json')
#: the large digit's two values (label bit 1) and the small ones' (bit 0)
LARGE_PAIR = (6, 9)
SMALL_PAIR = (0, 8)
#: a small digit's ink, centroid and spread after normalisation, as
#: fractions of its square's side (sklearn's 8x8 digits average about these)
SMALL_INK, SMALL_SIGMA = 0.2, (0.125, 0.21)
#: defaults: the large digit's side, a small digit's side, the lattice step
LARGE_SIZE = (300, 400)
SMALL_SIZE = (8, 10)
CELL = 24


def normalize_moments(alpha: np.ndarray) -> np.ndarray:
    """Warp a digit's ``(s, s)`` alpha so that its ink (sum), centroid and
    spread (the standard deviation along x and y) are the same for every
    digit: ``SMALL_INK * s * s``, the square's centre and ``SMALL_SIGMA *
    s``. What is left to tell two digits apart is then their shape, which
    downsampling a small digit to a few pixels erases."""
    s = alpha.shape[0]
    ink = float(alpha.sum())
    if ink <= 0:  # nothing drawn: nothing to normalise
        return alpha
    yy, xx = np.mgrid[0:s, 0:s].astype(np.float32)
    cx, cy = (alpha * xx).sum() / ink, (alpha * yy).sum() / ink
    sx = float(np.sqrt((alpha * (xx - cx)**2).sum() / ink))
    sy = float(np.sqrt((alpha * (yy - cy)**2).sum() / ink))
    ax, ay = SMALL_SIGMA[0] * s / max(sx, 1e-3), SMALL_SIGMA[1] * s / max(
        sy, 1e-3)
    c = (s - 1) / 2
    warp = np.float32([[ax, 0, c - ax * cx], [0, ay, c - ay * cy]])
    out = cv2.warpAffine(alpha, warp, (s, s), flags=cv2.INTER_LINEAR)
    out *= SMALL_INK * s * s / max(float(out.sum()), 1e-6)
    return np.clip(out, 0.0, 1.0)


def _draw(rng: np.random.Generator, gray: np.ndarray, samples: np.ndarray,
          x: int, y: int, size: int, normalize: bool = False) -> None:
    """Blend one digit sample into ``gray`` at ``(x, y)``, in place."""
    alpha, _ = render_digit(samples[int(rng.integers(len(samples)))], size)
    if normalize:
        alpha = normalize_moments(alpha)
    blend_ink(gray, alpha, x, y, rng.uniform(185.0, 250.0))


def render_cls_canvas(rng: np.random.Generator,
                      bank: Dict[int, np.ndarray],
                      label: int,
                      canvas_size: int = 1024,
                      large_size: Tuple[int, int] = LARGE_SIZE,
                      small_size: Tuple[int, int] = SMALL_SIZE,
                      cell: int = CELL,
                      fill: float = 0.45) -> np.ndarray:
    """One UltraDigits-cls canvas of class ``label``.

    Args:
        rng: the canvas's own generator.
        bank: digit value -> ``(n, 8, 8)`` samples (:func:`load_digit_bank`).
        label: the class to draw, 0..3 (bit 1: the large digit is a 9; bit
            0: the small ones are).
        canvas_size: side of the square canvas.
        large_size: inclusive range of the large digit's side.
        small_size: inclusive range of a small digit's side.
        cell: the small digits' lattice step; each cell holds at most one.
        fill: probability that a lattice cell holds a small digit (cells
            touching the large digit stay empty).

    Returns:
        np.ndarray: ``(H, W, 3)`` uint8 image.
    """
    if label not in range(len(ULTRADIGITS_CLS_CLASSES)):
        raise ValueError(f'label must be in 0..3, got {label!r}')
    gray = make_background(rng, (canvas_size, canvas_size))
    large, small = divmod(label, 2)
    s = int(rng.integers(large_size[0], large_size[1] + 1))
    x0, y0 = (int(v) for v in rng.integers(0, canvas_size - s + 1, 2))
    _draw(rng, gray, bank[LARGE_PAIR[large]], x0, y0, s)
    for cy in range(0, canvas_size - cell + 1, cell):
        for cx in range(0, canvas_size - cell + 1, cell):
            if rng.random() > fill:
                continue
            d = int(rng.integers(small_size[0], small_size[1] + 1))
            x = cx + int(rng.integers(0, cell - d + 1))
            y = cy + int(rng.integers(0, cell - d + 1))
            if (x < x0 + s + 2 and x0 < x + d + 2 and y < y0 + s + 2
                    and y0 < y + d + 2):
                continue
            _draw(rng, gray, bank[SMALL_PAIR[small]], x, y, d,
                  normalize=True)
    return finish_canvas(rng, gray)


def _args(seed: int, canvas_size: int, counts: Dict[str, int],
          large_size: Tuple[int, int], small_size: Tuple[int, int],
          cell: int) -> dict:
    return dict(seed=int(seed), canvas_size=int(canvas_size),
                num_train=int(counts['train']), num_val=int(counts['val']),
                num_test=int(counts['test']),
                large_size=[int(v) for v in large_size],
                small_size=[int(v) for v in small_size], cell=int(cell))


def ultradigits_cls_up_to_date(out_dir: str, **kwargs) -> bool:
    """Whether ``out_dir`` holds a complete generation by
    ``generate_ultradigits_cls(out_dir, **kwargs)`` (defaults as there):
    stamp, format version and every file present."""
    a = generator_arguments(generate_ultradigits_cls, out_dir, kwargs)
    counts = dict(train=a['num_train'], val=a['num_val'], test=a['num_test'])
    return stamp_up_to_date(
        out_dir, CLS_STAMP_FILE, CLS_FORMAT_VERSION,
        _args(a['seed'], a['canvas_size'], counts, a['large_size'],
              a['small_size'], a['cell']), expected_files(counts))


def generate_ultradigits_cls(out_dir: str, seed: int = 0,
                             canvas_size: int = 1024, num_train: int = 256,
                             num_val: int = 16, num_test: int = 64,
                             large_size: Tuple[int, int] = LARGE_SIZE,
                             small_size: Tuple[int, int] = SMALL_SIZE,
                             cell: int = CELL) -> dict:
    """Write UltraDigits-cls under ``out_dir`` (see the module docstring).

    Stale ``*.png`` of an earlier generation are removed; the stamp is
    removed first and written last, so an interrupted run never looks
    complete.

    Args:
        out_dir: output folder (created if missing).
        seed: random seed.
        canvas_size: side of the square canvases, at least 256 px (the
            large digit is up to 224 px).
        num_train, num_val, num_test: canvases per split.
        large_size, small_size, cell: see :func:`render_cls_canvas`.

    Returns:
        dict: ``out_dir``, ``args`` and per split ``num_images`` and
        ``label_hist`` (4 counts).
    """
    if not 0 < large_size[0] <= large_size[1] < canvas_size:
        raise ValueError(f'large_size {tuple(large_size)} must be an '
                         f'increasing range below canvas_size={canvas_size} '
                         '(enlarge the canvas or shrink the large digit)')
    if not 4 <= small_size[0] <= small_size[1] <= cell:
        raise ValueError(f'small_size {tuple(small_size)} must be an '
                         f'increasing range of at least 4 px that fits the '
                         f'lattice cell of {cell} px')
    counts = dict(train=int(num_train), val=int(num_val), test=int(num_test))
    if any(n < 0 for n in counts.values()):
        raise ValueError(f'canvas counts must be >= 0, got {counts}')
    os.makedirs(osp.join(out_dir, 'meta'), exist_ok=True)
    remove_stamp(out_dir, CLS_STAMP_FILE)
    splits = {}
    for split_index, split in enumerate(SPLITS):
        img_dir = osp.join(out_dir, 'images', split)
        os.makedirs(img_dir, exist_ok=True)
        clear_pngs(img_dir)
        bank = load_digit_bank(split)
        lines, hist = [], [0] * len(ULTRADIGITS_CLS_CLASSES)
        for idx in range(counts[split]):
            rng = np.random.default_rng([int(seed), split_index, idx])
            # classes in turn: every split is balanced
            label = idx % len(ULTRADIGITS_CLS_CLASSES)
            image = render_cls_canvas(rng, bank, label, canvas_size,
                                      large_size, small_size, cell)
            write_png(osp.join(img_dir, f'{idx:06d}.png'), image)
            lines.append(f'{idx:06d}.png {label}\n')
            hist[label] += 1
        write_text(osp.join(out_dir, 'meta', f'{split}.txt'), ''.join(lines))
        splits[split] = dict(num_images=counts[split], label_hist=hist)
    write_text(osp.join(out_dir, 'meta', 'classes.txt'),
               ''.join(f'{c}\n' for c in ULTRADIGITS_CLS_CLASSES))
    args = _args(seed, canvas_size, counts, large_size, small_size, cell)
    write_stamp(out_dir, CLS_STAMP_FILE, CLS_FORMAT_VERSION,
                'mmpatch.datasets.ultradigits_cls', args, splits)
    return dict(out_dir=out_dir, args=args, splits=splits)

