"""UltraDigits-scales: tiny and huge digits on the same large canvas.

The detection data set of the comparison in docs/benchmarks.md (issue #20):
each canvas (1024x1024 by default, any ``(H, W)``) holds handwritten digits
from about 10 px to about 60 % of the canvas's short side (tight boxes; the
squares they are drawn in reach 0.8 of it), so that each half
of PatchGD has something to do: the full-resolution latent buffer for the
digits that downsampling erases, the global patch for the digits no crop or
patch contains. Per canvas, in three *size groups* (``L`` = the short
side; a digit's *square* is the square it is rendered in, its tight box is
about 0.8 of it along its longer side, less across for a '1'):

=========  =================  ===========================  ================
group      digits per canvas  square side                  distribution
=========  =================  ===========================  ================
tiny       24-32              10-24 px (absolute)          uniform integer
medium     8-12               24 px - 0.3 L                log-uniform
huge       1                  0.65 L - 0.8 L               uniform
=========  =================  ===========================  ================

plus 2-4 **distractor strokes** (arcs and polylines with the digits' ink and
stroke width, 16 px - 0.15 L, never annotated) and the dim scratches of
UltraDigits' background. On a 1024 px canvas that is about 38 digits: ~28
tiny (tight boxes ~7-20 px), ~8.5 medium (~18-250 px; some do not fit
beside the huge one and are skipped), one huge (~460-660 px, mostly above 512 px,
the equal-memory crop side). The AP buckets of the benchmark are set from
the baselines' sizes, not from these groups
(``mmpatch.evaluation.size_buckets``); the groups only make sure that each
bucket is well populated. Each annotation records its group
(``size_group``).

Classes are balanced: a canvas's digit values are a random permutation of
0-9 (followed by a second one when it has more than 10 digits), dealt to
its digits in a random order, so each value is equally likely in every
group and the values on a canvas repeat as little as possible.

Everything else is UltraDigits' (:mod:`.ultradigits`, drawn by
:mod:`.digit_canvas`, written by :mod:`.generator_io`): scikit-learn's
handwritten digits with the same 70/15/15 train/val/test split of the
handwriting, rendering, background, ink, noise and colour gain, squares that
never overlap (2 px apart), tight boxes around the stroke pixels (so every
box covers its strokes and lies inside the canvas), COCO ids from 1,
deterministic files (every draw from ``np.random.default_rng([seed,
split_index, image_index])``) and a stamp (``meta/ultradigits_scales.json``)
that makes a second run with the same arguments a no-op. Layout::

    images/{split}/{name}.png            3-channel uint8 canvas (BGR on disk)
    annotations/instances_{split}.json   COCO boxes, category_id = digit
    meta/ultradigits_scales.json         stamp: format version, arguments,
                                         per-split counts and box sizes

Only numpy, scikit-learn, OpenCV and the standard library are used.
"""
import math
import os
import os.path as osp
from typing import Dict, List, Optional, Tuple

import cv2
import numpy as np

from .digit_canvas import (GAP, SPLITS, blend_ink, finish_canvas,
                           load_digit_bank, make_background, overlaps,
                           render_digit, tight_box, to_hw)
from .generator_io import (clear_pngs, coco_annotation, expected_files,
                           remove_stamp, stamp_up_to_date, write_coco,
                           write_png, write_stamp)

SCALES_FORMAT_VERSION = 1
SCALES_STAMP_FILE = osp.join('meta', 'ultradigits_scales.json')
GROUPS = ('huge', 'medium', 'tiny')  # placement order: largest first
#: the defaults of :func:`generate_ultradigits_scales` (see the table above)
DEFAULTS = dict(
    seed=0,
    canvas_size=1024,
    num_train=96,
    num_val=16,
    num_test=64,
    # dense enough that a detector learns from few canvases (issue #30: at
    # 8-12 tiny and 4-6 medium digits a canvas, full-image FCOS reached
    # validation AP 0.08 in 12 epochs, at these counts 0.33)
    tiny=(24, 32),
    medium=(8, 12),
    huge=(1, 1),
    distractors=(2, 4),
    tiny_size=(10, 24),
    medium_frac=0.3,
    huge_frac=(0.65, 0.8))
#: box-side edges (longer side, px) of the size histogram in the stamp
HIST_EDGES = (0, 16, 32, 64, 128, 256, 512, 768, 1024, 100000)
_MAX_TRIES = 300


def group_sizes(rng: np.random.Generator, canvas_hw: Tuple[int, int],
                spec: dict) -> List[Tuple[str, int]]:
    """Draw ``(group, square side)`` of one canvas's digits, largest first.

    ``spec`` holds the counts ``tiny``, ``medium``, ``huge`` (inclusive
    ranges) and ``tiny_size``, ``medium_frac``, ``huge_frac`` (see the
    module docstring).
    """
    short = min(canvas_hw)
    lo_t, hi_t = spec['tiny_size']
    lo_h = max(hi_t, int(spec['huge_frac'][0] * short))
    hi_h = max(lo_h, int(spec['huge_frac'][1] * short))
    hi_m = max(hi_t, int(spec['medium_frac'] * short))
    out = []
    for group in GROUPS:
        lo_n, hi_n = spec[group]
        for _ in range(int(rng.integers(lo_n, hi_n + 1))):
            if group == 'huge':
                side = int(rng.integers(lo_h, hi_h + 1))
            elif group == 'medium':
                side = int(math.exp(rng.uniform(math.log(hi_t),
                                                 math.log(hi_m + 1))))
                side = min(max(side, hi_t), hi_m)
            else:
                side = int(rng.integers(lo_t, hi_t + 1))
            out.append((group, side))
    return out


def _place(rng: np.random.Generator, side: int, canvas_hw: Tuple[int, int],
           placed: List[Tuple[int, int, int]]) -> Optional[Tuple[int, int,
                                                                 int]]:
    """A free spot ``(x, y, side)`` for a square, or None (it is skipped,
    never shrunk, so every digit stays in its group's size range)."""
    h, w = canvas_hw
    if side > min(h, w):
        return None
    xs = rng.integers(0, w - side + 1, _MAX_TRIES)
    ys = rng.integers(0, h - side + 1, _MAX_TRIES)
    for x, y in zip(xs, ys):
        if not overlaps((int(x), int(y), side), placed, GAP):
            return int(x), int(y), side
    return None


def _distractor(rng: np.random.Generator, side: int) -> np.ndarray:
    """An unannotated stroke in a ``side`` square: an arc or a bent line
    with about a digit's stroke width (alpha in [0, 1])."""
    layer = np.zeros((side, side), np.uint8)
    thick = max(1, int(round(side / rng.uniform(6.0, 10.0))))
    m = thick + 1
    if rng.random() < 0.5:
        r = max(2, side // 2 - m)
        start = int(rng.integers(0, 360))
        cv2.ellipse(layer, (side // 2, side // 2),
                    (r, max(2, int(r * rng.uniform(0.4, 1.0)))),
                    int(rng.integers(0, 180)), start,
                    start + int(rng.integers(90, 250)), 255, thick,
                    cv2.LINE_AA)
    else:
        num = int(rng.integers(2, 5))
        pts = rng.uniform(m, max(m + 1, side - m), (num, 2))
        cv2.polylines(layer, [np.rint(pts).astype(np.int32)], False, 255,
                      thick, cv2.LINE_AA)
    return layer.astype(np.float32) / 255.0


def render_scales_canvas(rng: np.random.Generator,
                         bank: Dict[int, np.ndarray],
                         canvas_hw: Tuple[int, int],
                         spec: dict,
                         instance_map: bool = False) -> tuple:
    """Render one canvas and its digits.

    Args:
        instance_map: also return an ``(H, W)`` int32 map of the stroke
            pixels, ``i + 1`` on the strokes of the i-th digit, 0 elsewhere
            (for checks; not written to disk).

    Returns:
        tuple: ``image`` (H, W, 3) uint8 and one dict per digit with
        ``digit``, ``group``, ``square`` ``(x, y, side)``, ``bbox`` ``[x, y,
        w, h]`` (ints, tight around the stroke pixels, alpha >= 0.5)
        (and the instance map).
    """
    h, w = canvas_hw
    wanted = group_sizes(rng, canvas_hw, spec)
    perms = np.concatenate(
        [rng.permutation(10) for _ in range(len(wanted) // 10 + 1)])
    values = perms[rng.permutation(len(wanted))]
    short = min(canvas_hw)
    n_dis = int(rng.integers(spec['distractors'][0],
                             spec['distractors'][1] + 1))
    dis_sides = np.exp(rng.uniform(math.log(16), math.log(
        max(17, 0.15 * short)), n_dis)).astype(int)

    gray = make_background(rng, canvas_hw)
    inst = np.zeros((h, w), np.int32) if instance_map else None
    placed: List[Tuple[int, int, int]] = []
    digits = []
    for (group, side), value in zip(wanted, values):
        spot = _place(rng, side, canvas_hw, placed)
        if spot is None:
            continue
        placed.append(spot)
        x, y, s = spot
        samples = bank[int(value)]
        alpha, stroke = render_digit(samples[int(rng.integers(len(samples)))],
                                     s)
        blend_ink(gray, alpha, x, y, rng.uniform(185.0, 250.0))
        if inst is not None:
            inst[y:y + s, x:x + s][stroke] = len(digits) + 1
        digits.append(
            dict(digit=int(value), group=group, square=spot,
                 bbox=tight_box(stroke, x, y)))
    for side in dis_sides:
        spot = _place(rng, int(side), canvas_hw, placed)
        if spot is None:
            continue
        placed.append(spot)
        x, y, s = spot
        alpha = _distractor(rng, s)
        blend_ink(gray, alpha, x, y, rng.uniform(185.0, 250.0))
    image = finish_canvas(rng, gray)
    if inst is not None:
        return image, digits, inst
    return image, digits


def _args(seed: int, canvas_hw: Tuple[int, int], counts: Dict[str, int],
          spec: dict) -> dict:
    """The arguments recorded in (and compared against) the stamp."""
    out = dict(seed=int(seed), canvas_size=[int(canvas_hw[0]),
                                            int(canvas_hw[1])])
    out.update({f'num_{s}': int(counts[s]) for s in SPLITS})
    for key in ('tiny', 'medium', 'huge', 'distractors', 'tiny_size',
                'huge_frac'):
        out[key] = [type(v)(v) for v in spec[key]]
    out['medium_frac'] = float(spec['medium_frac'])
    return out


def _spec(**kwargs) -> Tuple[int, Tuple[int, int], Dict[str, int], dict]:
    """Defaults filled in and checked: seed, canvas (H, W), counts, spec."""
    kw = dict(DEFAULTS, **kwargs)
    unknown = set(kw) - set(DEFAULTS)
    if unknown:
        raise TypeError(f'unknown arguments {sorted(unknown)}')
    canvas_hw = to_hw(kw['canvas_size'])
    counts = {s: int(kw[f'num_{s}']) for s in SPLITS}
    spec = {k: tuple(int(v) for v in kw[k])
            for k in ('tiny', 'medium', 'huge', 'distractors', 'tiny_size')}
    spec['huge_frac'] = tuple(float(v) for v in kw['huge_frac'])
    spec['medium_frac'] = float(kw['medium_frac'])
    for key in ('tiny', 'medium', 'huge', 'distractors'):
        lo, hi = spec[key]
        if not 0 <= lo <= hi:
            raise ValueError(f'bad {key} count range {spec[key]}')
    if not 4 <= spec['tiny_size'][0] <= spec['tiny_size'][1]:
        raise ValueError(f'bad tiny_size {spec["tiny_size"]}')
    if not 0 < spec['huge_frac'][0] <= spec['huge_frac'][1] <= 0.95:
        raise ValueError(f'bad huge_frac {spec["huge_frac"]}')
    if min(canvas_hw) < 4 * spec['tiny_size'][1]:
        raise ValueError(f'canvas {canvas_hw} too small for tiny digits of '
                         f'{spec["tiny_size"]} px')
    if int(kw['seed']) < 0:
        raise ValueError('seed must be >= 0')
    return int(kw['seed']), canvas_hw, counts, spec


def ultradigits_scales_up_to_date(out_dir: str, **kwargs) -> bool:
    """Whether ``out_dir`` holds a complete generation with these arguments
    (those of :func:`generate_ultradigits_scales`): the stamp's format
    version and arguments match and every file is there."""
    seed, canvas_hw, counts, spec = _spec(**kwargs)
    files = expected_files(counts, split_files=(osp.join(
        'annotations', 'instances_{split}.json'), ))
    return stamp_up_to_date(out_dir, SCALES_STAMP_FILE, SCALES_FORMAT_VERSION,
                            _args(seed, canvas_hw, counts, spec), files)


def _generate_split(out_dir: str, split: str, split_index: int, num: int,
                    seed: int, canvas_hw: Tuple[int, int],
                    spec: dict) -> dict:
    h, w = canvas_hw
    img_dir = osp.join(out_dir, 'images', split)
    os.makedirs(img_dir, exist_ok=True)
    clear_pngs(img_dir)
    bank = load_digit_bank(split)
    images, annotations = [], []
    class_hist = [0] * 10
    groups = {g: 0 for g in GROUPS}
    sides = []
    for idx in range(num):
        rng = np.random.default_rng([int(seed), split_index, idx])
        image, digits = render_scales_canvas(rng, bank, canvas_hw, spec)
        write_png(osp.join(img_dir, f'{idx:06d}.png'), image)
        images.append(dict(id=idx + 1, file_name=f'{idx:06d}.png', width=w,
                           height=h))
        for d in digits:
            annotations.append(coco_annotation(
                len(annotations) + 1, idx + 1, d['digit'], d['bbox'],
                size_group=d['group']))
            class_hist[d['digit']] += 1
            groups[d['group']] += 1
            sides.append(max(d['bbox'][2:]))
    write_coco(osp.join(out_dir, 'annotations', f'instances_{split}.json'),
               'UltraDigits-scales (mmpatch): handwritten digits from 10 px '
               'to 60 % of the canvas side', SCALES_FORMAT_VERSION, images,
               annotations)
    hist = np.histogram(sides, bins=HIST_EDGES)[0].tolist() if sides else []
    return dict(num_images=num, num_digits=len(annotations),
                class_hist=class_hist, groups=groups,
                box_side_hist=dict(edges=list(HIST_EDGES), counts=hist))


def generate_ultradigits_scales(out_dir: str, **kwargs) -> dict:
    """Generate UltraDigits-scales under ``out_dir``.

    Keyword arguments (defaults in :data:`DEFAULTS`): ``seed``,
    ``canvas_size`` (int or ``(H, W)``), ``num_train``, ``num_val``,
    ``num_test``, the per-canvas count ranges ``tiny``, ``medium``,
    ``huge``, ``distractors``, and the sizes ``tiny_size`` (px),
    ``medium_frac`` and ``huge_frac`` (of the short side). The stamp is
    removed first and written last, so an interrupted run never looks
    complete.

    Returns:
        dict: ``out_dir``, ``args`` (as in the stamp) and per split
        ``num_images``, ``num_digits``, ``class_hist``, ``groups`` and
        ``box_side_hist`` (longer box side, px).
    """
    seed, canvas_hw, counts, spec = _spec(**kwargs)
    args = _args(seed, canvas_hw, counts, spec)
    for sub in ('annotations', 'meta'):
        os.makedirs(osp.join(out_dir, sub), exist_ok=True)
    remove_stamp(out_dir, SCALES_STAMP_FILE)
    splits = {
        split: _generate_split(out_dir, split, i, counts[split], seed,
                               canvas_hw, spec)
        for i, split in enumerate(SPLITS)
    }
    write_stamp(out_dir, SCALES_STAMP_FILE, SCALES_FORMAT_VERSION,
                'mmpatch.datasets.ultradigits_scales', args, splits)
    return dict(out_dir=out_dir, args=args, splits=splits)

