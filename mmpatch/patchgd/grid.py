"""The patch grid: patchify a padded batch, valid regions, the global patch
and its banded, bit-exact resize.

Conventions used throughout mmpatch:

* A batch ``x`` is ``(B, C, H, W)`` as the data preprocessor returns it.
* The grid pads it at the bottom/right to ``(B, C, m * ph, n * pw)``
  (``m`` rows and ``n`` columns of ``ph x pw`` patches).
* A grid *cell* is an integer ``r * n + c``; a *cell selection* for one inner
  iteration is a ``(B, k)`` long tensor of cells, one row per image.
* Every read and write of cells takes a :class:`CellIndex`: ``(N,)`` image
  indices and ``(N,)`` cells, e.g. a selection flattened by
  :meth:`PatchGrid.index`.
* A per-patch feature map of shape ``(C', fh, fw)`` stitches into a
  whole-image map ``(B, C', m * fh, n * fw)``: cell ``(r, c)`` occupies rows
  ``r * fh : (r + 1) * fh`` and columns ``c * fw : (c + 1) * fw``
  (:func:`~mmpatch.patchgd.latent.stitch`, ``put``, ``take``).
"""
import math
from typing import Callable, List, NamedTuple, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from torch import Tensor

from mmpatch.datasets.pixels import MappedBatch

Size2d = Tuple[int, int]


class CellIndex(NamedTuple):
    """(image, cell) pairs: ``images[i]`` and ``cells[i]``, each ``(N,)``."""
    images: Tensor
    cells: Tensor

    @classmethod
    def span(cls, start: int, stop: int, num_cells: int,
             device: Union[str, torch.device] = 'cpu') -> 'CellIndex':
        """Pairs ``start .. stop - 1`` of the batch, image-major (the fill
        walks the batch in such spans)."""
        flat = torch.arange(start, stop, device=device)
        return cls(flat // num_cells, flat % num_cells)

    def __len__(self) -> int:
        return self.cells.numel()

    def slice(self, start: int, stop: int) -> 'CellIndex':
        """Pairs ``start .. stop - 1`` of this index."""
        return CellIndex(self.images[start:stop], self.cells[start:stop])

    def chunks(self, size: int) -> List['CellIndex']:
        """This index in consecutive pieces of ``size`` pairs (the last one
        shorter): the same partition the fill uses for the same size."""
        return [self.slice(s, s + size) for s in range(0, len(self), size)]


class TensorPixels:
    """A ``(B, C, H, W)`` batch tensor as a pixel source (the reads of
    :mod:`mmpatch.datasets.pixels`).

    Its :meth:`patches` index a strided view of the tensor, so the batch
    must have been padded to whole patches (:meth:`pad_to`) first.
    """

    def __init__(self, x: Tensor) -> None:
        self.x = x

    @property
    def shape(self) -> torch.Size:
        return self.x.shape

    @property
    def dtype(self) -> torch.dtype:
        return self.x.dtype

    @property
    def device(self) -> torch.device:
        return self.x.device

    def pad_to(self, shape: Size2d) -> Tensor:
        """The tensor zero-padded at the bottom/right to ``shape``."""
        H, W = self.x.shape[-2:]
        if (H, W) == tuple(shape):
            return self.x
        return F.pad(self.x, (0, shape[1] - W, 0, shape[0] - H))

    def window(self, index: int, y0: int, y1: int, x0: int,
               x1: int) -> Tensor:
        return self.x[index, :, y0:y1, x0:x1]

    def patches(self, images: Tensor, tops: Tensor, lefts: Tensor,
                size: Size2d) -> Tensor:
        ph, pw = size
        B, C, H, W = self.x.shape
        cells = self.x.view(B, C, H // ph, ph, W // pw, pw)
        # the advanced indices on dims 0, 2, 4 go first: (N, C, ph, pw)
        return cells[images, :, tops // ph, :, lefts // pw, :]


#: where the grid reads pixels: a batch tensor, or a batch left on disk
PixelSource = Union[TensorPixels, MappedBatch]


def as_pixels(x: Union[Tensor, PixelSource]) -> PixelSource:
    """A pixel source for a batch tensor or a mapped batch."""
    if isinstance(x, Tensor):
        return TensorPixels(x)
    return x


def to_2tuple(value: Union[int, Sequence[int]], name: str) -> Size2d:
    """Return ``(h, w)`` from an int or a pair, with a clear error otherwise."""
    if isinstance(value, int) and not isinstance(value, bool):
        pair = (value, value)
    elif (isinstance(value, (tuple, list)) and len(value) == 2
          and all(isinstance(v, int) and not isinstance(v, bool)
                  for v in value)):
        pair = (int(value[0]), int(value[1]))
    else:
        raise ValueError(
            f'{name} must be an int or a pair of ints (h, w), got {value!r}')
    if min(pair) <= 0:
        raise ValueError(f'{name} must be positive, got {value!r}')
    return pair


class PatchGrid:
    """An ``m x n`` grid of ``ph x pw`` patches laid over one padded batch.

    Args:
        batch_shape (tuple[int, int]): ``(H, W)`` of the batch tensor.
        patch_size (tuple[int, int]): ``(ph, pw)``.
        valid_shapes (list[tuple[int, int]], optional): ``(h, w)`` of each
            image's real content (its ``img_shape`` before padding). Defaults
            to the whole batch shape for every image.
        batch_size (int): ``B``; only needed when ``valid_shapes`` is None.
        normalize (callable, optional): for a batch kept in uint8 (see
            :class:`~mmpatch.models.data_preprocessors.DeferredNormalization`),
            maps
            ``(N, C, h, w)`` pixels to the model's normalised input. Patches
            and the global patch read from a uint8 batch go through it, and
            patches are zeroed outside each image's valid region afterwards.
    """

    def __init__(self,
                 batch_shape: Size2d,
                 patch_size: Size2d,
                 valid_shapes: Optional[List[Size2d]] = None,
                 batch_size: int = 1,
                 normalize: Optional[Callable[[Tensor], Tensor]] = None
                 ) -> None:
        self.normalize = normalize
        self.batch_shape = (int(batch_shape[0]), int(batch_shape[1]))
        self.patch_size = to_2tuple(patch_size, 'patch_size')
        ph, pw = self.patch_size
        self.rows = max(1, math.ceil(self.batch_shape[0] / ph))
        self.cols = max(1, math.ceil(self.batch_shape[1] / pw))
        if valid_shapes is None:
            valid_shapes = [self.batch_shape] * batch_size
        self.valid_shapes = [(min(int(h), self.batch_shape[0]),
                              min(int(w), self.batch_shape[1]))
                             for h, w in valid_shapes]

    # ------------------------------------------------------------------ sizes
    @property
    def batch_size(self) -> int:
        return len(self.valid_shapes)

    @property
    def num_cells(self) -> int:
        """``m * n``."""
        return self.rows * self.cols

    @property
    def padded_shape(self) -> Size2d:
        """``(m * ph, n * pw)``."""
        return (self.rows * self.patch_size[0], self.cols * self.patch_size[1])

    def __repr__(self) -> str:
        return (f'PatchGrid({self.rows}x{self.cols} cells of '
                f'{self.patch_size[0]}x{self.patch_size[1]} px over a '
                f'{self.batch_shape[0]}x{self.batch_shape[1]} batch of '
                f'{self.batch_size})')

    # ----------------------------------------------------------------- pixels
    def pad(self, x: Union[Tensor, PixelSource]) -> Union[Tensor,
                                                          PixelSource]:
        """Zero-pad ``(B, C, H, W)`` at the bottom/right to the grid size.

        A :class:`~mmpatch.datasets.pixels.MappedBatch` is returned as it
        is: its reads are zero outside each image already.
        """
        return as_pixels(x).pad_to(self.padded_shape)

    def all_cells(self, device: Union[str, torch.device] = 'cpu') -> Tensor:
        """``(B, m * n)`` selection that names every cell of every image."""
        return torch.arange(
            self.num_cells, device=device).expand(self.batch_size, -1)

    @staticmethod
    def index(cells: Tensor) -> CellIndex:
        """A ``(B, k)`` selection as ``B * k`` (image, cell) pairs,
        image-major."""
        B, k = cells.shape
        images = torch.arange(B, device=cells.device).repeat_interleave(k)
        return CellIndex(images, cells.reshape(-1))

    def gather(self, x: Union[Tensor, PixelSource],
               index: CellIndex) -> Tensor:
        """Patches of (image, cell) pairs of a grid-padded batch.

        Args:
            x (Tensor | PixelSource): ``(B, C, m * ph, n * pw)``, the output
                of :meth:`pad`, or a mapped batch (read patch by patch).
            index (CellIndex): ``N`` (image, cell) pairs.

        Returns:
            Tensor: ``(N, C, ph, pw)``, normalised if ``x`` is uint8.
        """
        pixels = as_pixels(x)
        ph, pw = self.patch_size
        patches = pixels.patches(index.images, (index.cells // self.cols) * ph,
                                 (index.cells % self.cols) * pw,
                                 self.patch_size)
        if not self._is_raw(pixels):
            return patches
        patches = self.normalize(patches)
        # the host pads with 0 *after* normalising: so must we
        mask = self.patch_valid_mask(index)
        return patches if mask is None else patches * mask.to(patches.dtype)

    def _is_raw(self, pixels: PixelSource) -> bool:
        """Whether ``pixels`` are uint8 values still to be normalised."""
        if pixels.dtype != torch.uint8:
            return False
        if self.normalize is None:
            raise TypeError(
                'a uint8 batch reached the patch grid without a normaliser: '
                'the model\'s data_preprocessor left the pixels unnormalised '
                'but offers no normalize_patch; use one of mmpatch\'s '
                'PatchDetDataPreprocessor / PatchSegDataPreProcessor / '
                "PatchClsDataPreprocessor, or the host library's own "
                'preprocessor')
        return True

    def patch_valid_mask(self, index: CellIndex) -> Optional[Tensor]:
        """``(N, 1, ph, pw)`` bool mask of each patch's pixels inside its
        image's valid region; None when every pixel is."""
        ph, pw = self.patch_size
        if all((h, w) == self.padded_shape for h, w in self.valid_shapes):
            return None
        device = index.images.device
        valid = torch.tensor(self.valid_shapes, device=device)
        rows = valid[index.images, 0] - (index.cells // self.cols) * ph
        cols = valid[index.images, 1] - (index.cells % self.cols) * pw
        ys = torch.arange(ph, device=device)
        xs = torch.arange(pw, device=device)
        mask = ((ys[None, :, None] < rows[:, None, None])
                & (xs[None, None, :] < cols[:, None, None]))
        return mask[:, None]

    # ----------------------------------------------------------- global patch
    def global_patch(self, x: Union[Tensor, PixelSource],
                     size: Size2d) -> Tensor:
        """Each image's valid region resized to ``size``.

        Args:
            x (Tensor | PixelSource): ``(B, C, H, W)`` batch (padded or
                not).
            size (tuple[int, int]): ``(gh, gw)``.

        Returns:
            Tensor: ``(B, C, gh, gw)``, normalised if ``x`` is uint8.
            Padding never enters it.
        """
        pixels = as_pixels(x)
        raw = self._is_raw(pixels)
        outs = []
        for i, (h, w) in enumerate(self.valid_shapes):
            if not raw:
                outs.append(resize(pixels.window(i, 0, h, 0, w)[None], size))
                continue
            # a file's own reduced level (a pyramidal TIFF): resized from it
            level = getattr(pixels, 'pyramid_image', lambda *a: None)(i, size)
            if level is not None:
                outs.append(self.normalize(resize(
                    level[None].to(torch.get_default_dtype()), size)))
                continue

            # read in bands of rows, so that neither the whole image in
            # float nor (for a mapped batch) the whole image at all is ever
            # held; resizing commutes with the per-channel affine
            # normalisation (its weights sum to one)
            def read(y0: int, y1: int, i: int = i, w: int = w) -> Tensor:
                return pixels.window(i, y0, y1, 0, w)[None].to(
                    torch.get_default_dtype())

            band = max(1, self.patch_size[0] * self.patch_size[1] // w)
            outs.append(self.normalize(resize_bands(read, (h, w), size,
                                                    band)))
        return torch.cat(outs, dim=0)


# ---------------------------------------------- the global patch's resize
# Resizing a 4096² uint8 image at once would hold it whole in float (192
# MiB); resize_bands reads it a band of rows at a time and gives the same
# numbers bit for bit.
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
