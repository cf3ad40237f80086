"""Pixel sources: where the patch grid reads a batch's pixels from.

The patch grid never needs a whole image at once: it reads one window of
``ph x pw`` pixels per patch and bands of rows for the global patch. A
*pixel source* is anything that stands for the padded ``(B, C, H, W)``
batch and offers those reads:

* ``shape``, ``dtype`` (``torch.uint8`` for raw pixels), ``device``;
* ``pad_to((H, W))``: the batch zero-padded at the bottom/right;
* ``patches(images, tops, lefts, size)``: ``(N, C, ph, pw)`` windows;
* ``window(i, y0, y1, x0, x1)``: ``(C, y1 - y0, x1 - x0)`` of image ``i``.

Two sources exist. The grid's own,
:class:`~mmpatch.patchgd.grid.TensorPixels`, wraps the tensor a data
preprocessor returns (normalised floats, or the uint8 batch of
:class:`~mmpatch.models.data_preprocessors.DeferredNormalization`).
:class:`MappedBatch`, here, stands for the batch of images that
:class:`~mmpatch.datasets.lazy_image.LoadLazyImage` left on disk: a
:class:`MappedImage` is a read-only memory map of an ``(h, w, C)`` uint8
``.npy`` array, read region by region, never whole.

Memory: a read copies the region into a fresh tensor (counted by
:class:`~mmpatch.memory.MemoryMeter`); the mapped file itself is not
tensor memory. Its pages are the kernel's page cache, read on demand and
dropped under memory pressure, and on a GPU they never reach the device.
"""
from typing import List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from torch import Tensor

#: the data samples' metadata key naming a mapped image (LoadLazyImage)
LAZY_KEY = 'lazy_image'

#: mmcv's flip directions and the axes (rows, columns) each one mirrors
_FLIPS = {
    None: (False, False),
    'horizontal': (False, True),
    'vertical': (True, False),
    'diagonal': (True, True),
}


def stored_window(image, y0: int, y1: int, x0: int,
                  x1: int) -> Tuple[int, int, int, int]:
    """The stored rows and columns ``(y0, y1, x0, x1)`` that a window of
    ``image`` as flipped (its ``flip_direction``) shows; a clear error for
    a window outside its ``shape``."""
    h, w = image.shape
    if not (0 <= y0 <= y1 <= h and 0 <= x0 <= x1 <= w):
        raise IndexError(
            f'window rows {y0}:{y1}, columns {x0}:{x1} is outside the '
            f'{h}x{w} image {image.path}')
    flip_rows, flip_cols = _FLIPS[image.flip_direction]
    if flip_rows:
        y0, y1 = h - y1, h - y0
    if flip_cols:
        x0, x1 = w - x1, w - x0
    return y0, y1, x0, x1


def flip_region(region: np.ndarray,
                flip_direction: Optional[str]) -> np.ndarray:
    """A stored ``(C, h, w)`` region mirrored as ``flip_direction`` says, a
    fresh contiguous array."""
    flip_rows, flip_cols = _FLIPS[flip_direction]
    if flip_rows:
        region = region[:, ::-1]
    if flip_cols:
        region = region[:, :, ::-1]
    return np.ascontiguousarray(region)


class MappedImage:
    """One ``(h, w, C)`` uint8 image, memory-mapped, optionally flipped.

    Args:
        path (str): an ``.npy`` file holding an ``(h, w)`` or ``(h, w, C)``
            uint8 array, channels in the order the pipeline's
            ``LoadImageFromFile`` would give (BGR by default).
        flip_direction (str, optional): ``'horizontal'``, ``'vertical'`` or
            ``'diagonal'``: the image is read as ``mmcv.imflip`` would have
            flipped it (what a ``RandomFlip`` recorded). None: as stored.
    """

    def __init__(self,
                 path: str,
                 flip_direction: Optional[str] = None) -> None:
        if flip_direction not in _FLIPS:
            raise ValueError(
                f'{path}: unknown flip direction {flip_direction!r}; '
                f'expected one of {sorted(k for k in _FLIPS if k)} or None')
        try:
            array = np.load(path, mmap_mode='r', allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise ValueError(
                f'cannot memory-map the image {path}: {exc}. It must be an '
                '.npy file of an (h, w) or (h, w, C) uint8 array; let '
                'LoadLazyImage write it from the original image') from exc
        if array.ndim == 2:
            array = array[:, :, None]
        if array.dtype != np.uint8 or array.ndim != 3 or 0 in array.shape:
            raise ValueError(
                f'{path} holds a {array.dtype} array of shape '
                f'{tuple(array.shape)}; a mapped image must be a non-empty '
                '(h, w) or (h, w, C) uint8 array. Convert it, or load the '
                'original image with LoadLazyImage (which writes one)')
        self.path = path
        self.array = array
        self.flip_direction = flip_direction

    @property
    def shape(self) -> Tuple[int, int]:
        """``(h, w)``."""
        return int(self.array.shape[0]), int(self.array.shape[1])

    @property
    def channels(self) -> int:
        return int(self.array.shape[2])

    def read(self, y0: int, y1: int, x0: int, x1: int) -> np.ndarray:
        """Pixels ``[y0:y1, x0:x1]`` of the (flipped) image, ``(C, y1 - y0,
        x1 - x0)`` uint8, a fresh array; the window must lie inside."""
        y0, y1, x0, x1 = stored_window(self, y0, y1, x0, x1)
        region = self.array[y0:y1, x0:x1].transpose(2, 0, 1)
        return flip_region(region, self.flip_direction)

    def __repr__(self) -> str:
        h, w = self.shape
        flip = f', flip={self.flip_direction!r}' if self.flip_direction else ''
        return (f'MappedImage({self.path!r}, {h}x{w}x{self.channels}'
                f'{flip})')


class MappedBatch:
    """A batch of :class:`MappedImage` s in the place of a uint8 tensor.

    It stands for the ``(B, C, H, W)`` uint8 batch, zero-padded at the
    bottom/right, that the data preprocessor would have stacked, and is a
    pixel source (see the module's docstring).

    Args:
        images (list[MappedImage]): the batch's images, all with ``C``
            channels and within ``batch_shape``.
        batch_shape (tuple[int, int]): ``(H, W)`` of the padded batch.
        device (str | torch.device): where :meth:`read` puts its tensors
            (the model's device).
    """

    dtype = torch.uint8

    def __init__(self,
                 images: Sequence[MappedImage],
                 batch_shape: Tuple[int, int],
                 device: Union[str, torch.device] = 'cpu') -> None:
        if not images:
            raise ValueError('a MappedBatch needs at least one image')
        channels = {img.channels for img in images}
        if len(channels) != 1:
            raise ValueError(
                'the mapped images of one batch have different numbers of '
                f'channels: {[(img.path, img.channels) for img in images]}')
        H, W = int(batch_shape[0]), int(batch_shape[1])
        for img in images:
            h, w = img.shape
            if h > H or w > W:
                raise ValueError(
                    f'{img.path} is {h}x{w}, larger than the batch shape '
                    f'{H}x{W}')
        self.images: List[MappedImage] = list(images)
        self.batch_shape = (H, W)
        self.device = torch.device(device)

    @property
    def shape(self) -> torch.Size:
        """``(B, C, H, W)``."""
        return torch.Size((len(self.images), self.images[0].channels,
                           *self.batch_shape))

    def pad_to(self, shape: Tuple[int, int]) -> 'MappedBatch':
        """Itself: its reads are zero outside each image already."""
        return self

    def window(self, index: int, y0: int, y1: int, x0: int,
               x1: int) -> Tensor:
        """Pixels ``[y0:y1, x0:x1]`` of image ``index`` in the padded batch.

        Returns:
            Tensor: ``(C, y1 - y0, x1 - x0)`` uint8 on :attr:`device`, zero
            where the window lies outside the image (the batch padding).
        """
        img = self.images[index]
        h, w = img.shape
        out = torch.zeros((img.channels, y1 - y0, x1 - x0), dtype=torch.uint8)
        cy1, cx1 = min(y1, h), min(x1, w)
        if cy1 > y0 and cx1 > x0:
            out[:, :cy1 - y0, :cx1 - x0] = torch.from_numpy(
                img.read(y0, cy1, x0, cx1))
        return out.to(self.device)

    def pyramid_image(self, index: int,
                      size: Tuple[int, int]) -> Optional[Tensor]:
        """Image ``index`` whole, from a reduced level of its file's own
        pyramid that is at least ``size`` (a TIFF's), as ``(C, h_l, w_l)``
        uint8 on :attr:`device`; None when it has no such level (the global
        patch is then resized from the full resolution, band by band)."""
        img = self.images[index]
        level = img.level_for(size) if hasattr(img, 'level_for') else 0
        if level == 0:
            return None
        return torch.from_numpy(img.read_level(level)).to(self.device)

    def patches(self, images: Tensor, tops: Tensor, lefts: Tensor,
                size: Tuple[int, int]) -> Tensor:
        """``(N, C, ph, pw)`` uint8 windows of ``size`` at ``(tops[i],
        lefts[i])`` of image ``images[i]``."""
        ph, pw = size
        if images.numel() == 0:
            return torch.zeros((0, self.shape[1], ph, pw), dtype=torch.uint8,
                               device=self.device)
        return torch.stack([
            self.window(int(i), int(y), int(y) + ph, int(x), int(x) + pw)
            for i, y, x in zip(images.tolist(), tops.tolist(), lefts.tolist())
        ])

    def __repr__(self) -> str:
        return (f'MappedBatch({len(self.images)} images, batch shape '
                f'{self.batch_shape}, device={self.device})')
