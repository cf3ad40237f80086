"""Reading a PANDA slide for ``panda.py``: its pyramid levels, the level
that fits the output size, and the pixels as ``(H, W, 3)`` uint8 RGB
(tifffile; JPEG tiles need ``pip install imagecodecs``)."""
import os.path as osp
from typing import Sequence, Tuple

import numpy as np


def _yxs(shape: Sequence[int], axes: str) -> Tuple[int, int]:
    if 'Y' not in axes or 'X' not in axes:
        raise ValueError(f'no Y/X axes in {axes!r}')
    return shape[axes.index('Y')], shape[axes.index('X')]


def pyramid_levels(tif) -> list:
    """The resolution levels of a slide, largest first.

    ``series[0].levels`` for pyramids tifffile recognises (SubIFDs, reduced-
    resolution pages); otherwise the other series that are downscaled
    copies of the first (same axes, same aspect ratio within 5 %), which is
    how plain multi-page slides store their levels.
    """
    first = tif.series[0]
    levels = list(first.levels)
    if len(levels) == 1 and len(tif.series) > 1:
        h0, w0 = _yxs(first.shape, first.axes)
        for s in tif.series[1:]:
            if s.axes != first.axes or len(s.shape) != len(first.shape):
                continue
            h, w = _yxs(s.shape, s.axes)
            if h <= h0 and w <= w0 and abs(h / w - h0 / w0) <= 0.05 * h0 / w0:
                levels.append(s)
    return sorted(levels, key=lambda s: -np.prod(_yxs(s.shape, s.axes)))


def choose_level(sizes: Sequence[Tuple[int, int]], size: int,
                 pad: bool = True) -> int:
    """Index of the smallest ``(h, w)`` level that is not smaller than needed.

    With ``pad`` (the longer side is resized to ``size``) a level fits when
    its longer side is >= ``size``; without (the slide is stretched to
    ``size x size``) when its shorter side is. The largest level when none
    fits.
    """
    side = max if pad else min
    fits = [i for i, hw in enumerate(sizes) if side(hw) >= size]
    if not fits:
        return int(np.argmax([h * w for h, w in sizes]))
    return min(fits, key=lambda i: sizes[i][0] * sizes[i][1])


def read_slide(path: str, size: int, pad: bool = True) -> np.ndarray:
    """The pyramid level chosen for ``size``, as ``(H, W, 3)`` uint8 RGB."""
    import tifffile
    if not osp.isfile(path):
        raise FileNotFoundError(f'PANDA slide not found: {path}')
    try:
        with tifffile.TiffFile(path) as tif:
            levels = pyramid_levels(tif)
            sizes = [_yxs(s.shape, s.axes) for s in levels]
            level = levels[choose_level(sizes, size, pad)]
            arr, axes = level.asarray(), level.axes
    except Exception as e:  # tifffile raises many kinds
        hint = (' (JPEG tiles need `pip install imagecodecs`)'
                if 'imagecodecs' in str(e) else '')
        raise ValueError(f'cannot read the TIFF slide {path}: '
                         f'{type(e).__name__}: {e}{hint}') from e
    return to_rgb_uint8(arr, axes, path)


def to_rgb_uint8(arr: np.ndarray, axes: str, path: str) -> np.ndarray:
    """``YX``, ``YXS`` or ``SYX`` arrays -> ``(H, W, 3)`` uint8."""
    if axes == 'SYX':
        arr, axes = np.moveaxis(arr, 0, -1), 'YXS'
    if axes == 'YX':
        arr = np.repeat(arr[..., None], 3, axis=-1)
    elif axes != 'YXS':
        raise ValueError(f'{path}: unsupported TIFF axes {axes!r} (expected '
                         'an RGB or grey image: YXS, SYX or YX)')
    if arr.shape[-1] == 1:
        arr = np.repeat(arr, 3, axis=-1)
    elif arr.shape[-1] == 4:
        arr = arr[..., :3]  # drop alpha
    elif arr.shape[-1] != 3:
        raise ValueError(f'{path}: {arr.shape[-1]} samples per pixel, '
                         'expected 1, 3 or 4')
    if arr.dtype != np.uint8:
        if arr.dtype == np.uint16:
            arr = (arr >> 8).astype(np.uint8)
        else:
            raise ValueError(f'{path}: unsupported dtype {arr.dtype}')
    return np.ascontiguousarray(arr)
