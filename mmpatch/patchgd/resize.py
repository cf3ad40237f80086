"""Bilinear resizing for the global patch, band by band.

The global patch is each image's valid region shrunk to ``global_size``.
Resizing a 4096² uint8 image at once would hold it whole in float (192
MiB); :func:`resize_bands` reads it a band of rows at a time and gives the
same numbers bit for bit.
"""
from typing import Callable, Optional, Tuple

import torch.nn.functional as F
from torch import Tensor

Size2d = Tuple[int, int]


def resize_bands(read: Callable[[int, int], Tensor], shape: Size2d,
                 size: Size2d, band: int) -> Tensor:
    """:func:`resize` of an ``(h, w)`` image that ``read(y0, y1)`` gives
    ``band`` rows at a time as ``(1, C, y1 - y0, w)``.

    Bilinear resizing with antialiasing is separable, and torch computes
    it as a pass along the width followed by one along the height, so
    resizing each band along the width first and then the ``(h, gw)``
    result along the height gives the same numbers (bit for bit, pinned by
    a test) while only one band is ever held at full width. Without
    antialiasing (an image no larger than ``size``) the image is small and
    is read at once.
    """
    h, w = shape
    if not (h > size[0] or w > size[1]):
        return resize(read(0, h), size)
    mid = None  # (1, C, h, gw): the image resized along its width
    for y in range(0, h, band):
        rows = read(y, min(y + band, h))
        if w != size[1]:
            rows = _interpolate(rows, (rows.shape[2], size[1]), True)
        if mid is None:
            mid = rows.new_empty((*rows.shape[:2], h, size[1]))
        mid[:, :, y:y + rows.shape[2]] = rows
    return resize(mid, size, antialias=True)


def _interpolate(img: Tensor, size: Size2d, antialias: bool) -> Tensor:
    return F.interpolate(
        img,
        size=tuple(size),
        mode='bilinear',
        align_corners=False,
        antialias=antialias)


def resize(img: Tensor, size: Size2d,
            antialias: Optional[bool] = None) -> Tensor:
    """``(1, C, h, w)`` -> ``(1, C, *size)``, bilinear; antialiased when it
    shrinks a side (unless ``antialias`` says)."""
    h, w = img.shape[-2:]
    if (h, w) == tuple(size):
        return img
    # antialias keeps small objects from aliasing away when a large image
    # shrinks to one patch
    if antialias is None:
        antialias = bool(h > size[0] or w > size[1])
    return _interpolate(img, size, antialias)
