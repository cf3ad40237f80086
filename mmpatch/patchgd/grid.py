"""The patch grid: patchify a padded batch, stitch per-patch maps, global patch.

Conventions used throughout mmpatch:

* A batch ``x`` is ``(B, C, H, W)`` as the data preprocessor returns it.
* The grid pads it at the bottom/right to ``(B, C, m * ph, n * pw)``
  (``m`` rows and ``n`` columns of ``ph x pw`` patches).
* A grid *cell* is an integer ``r * n + c``; a *cell plan* for one inner
  iteration is a ``(B, k)`` long tensor of cells, one row per image.
* Every read and write of cells takes a :class:`CellIndex`: ``(N,)`` image
  indices and ``(N,)`` cells, e.g. a plan flattened by
  :meth:`PatchGrid.index`.
* A per-patch feature map of shape ``(C', fh, fw)`` stitches into a
  whole-image map ``(B, C', m * fh, n * fw)``: cell ``(r, c)`` occupies rows
  ``r * fh : (r + 1) * fh`` and columns ``c * fw : (c + 1) * fw``.
"""
import math
from typing import Callable, List, NamedTuple, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from torch import Tensor

from mmpatch.datasets.pixels import PixelSource, as_pixels
from .resize import resize, resize_bands

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
        """``(B, m * n)`` plan that names every cell of every image."""
        return torch.arange(
            self.num_cells, device=device).expand(self.batch_size, -1)

    @staticmethod
    def index(cells: Tensor) -> CellIndex:
        """A ``(B, k)`` plan as ``B * k`` (image, cell) pairs, image-major."""
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

    def _cell_view(self, t: Tensor, cell_hw: Size2d) -> Tensor:
        """``(B, C, m * h, n * w)`` viewed as ``(B, C, m, h, n, w)``."""
        B, C = t.shape[:2]
        return t.view(B, C, self.rows, cell_hw[0], self.cols, cell_hw[1])

    def _cell_index(self, index: CellIndex) -> tuple:
        """``index`` into a :meth:`_cell_view`; the advanced indices on dims
        0, 2, 4 go first: ``(N, C, h, w)``."""
        return (index.images, slice(None), index.cells // self.cols,
                slice(None), index.cells % self.cols, slice(None))

    def _is_raw(self, pixels: PixelSource) -> bool:
        """Whether ``pixels`` are uint8 values still to be normalised."""
        if pixels.dtype != torch.uint8:
            return False
        if self.normalize is None:
            raise TypeError(
                'a uint8 batch reached the patch grid without a normaliser: '
                'the model\'s data_preprocessor left the pixels unnormalised '
                'but is no DeferredNormalization; use one of mmpatch\'s '
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

    # --------------------------------------------------------------- features
    def empty_map(self, feat: Tensor) -> Tensor:
        """Zeros for the stitched map of per-patch features ``(N, C, fh, fw)``.

        Returns:
            Tensor: ``(B, C, m * fh, n * fw)`` with ``feat``'s dtype/device.
        """
        C, fh, fw = feat.shape[1:]
        return feat.new_zeros(self.batch_size, C, self.rows * fh,
                              self.cols * fw)

    def put(self, stitched: Tensor, index: CellIndex,
            feat: Tensor) -> Tensor:
        """Write per-patch maps of (image, cell) pairs into a stitched map.

        In place on ``stitched``; autograd records it, so writing into a
        fresh clone is an out-of-place scatter.

        Args:
            stitched (Tensor): ``(B, C, m * fh, n * fw)``.
            index (CellIndex): ``N`` (image, cell) pairs.
            feat (Tensor): ``(N, C, fh, fw)``.
        """
        B, C, H, W = stitched.shape
        fh, fw = H // self.rows, W // self.cols
        if feat.shape[-2:] != (fh, fw):
            raise ValueError(
                f'a patch feature map of {tuple(feat.shape[-2:])} does not '
                f'tile a stitched map of {(H, W)} on a {self.rows}x'
                f'{self.cols} grid: the patch size {self.patch_size} must be '
                'a multiple of every feature stride of the patch encoder')
        self._cell_view(stitched, (fh, fw))[self._cell_index(index)] = \
            feat.to(stitched.dtype)
        return stitched

    def take(self, stitched: Tensor, index: CellIndex) -> Tensor:
        """The inverse of :meth:`put`: ``(N, C, fh, fw)`` maps of (image,
        cell) pairs, copied out of a stitched ``(B, C, m * fh, n * fw)``."""
        H, W = stitched.shape[-2:]
        return self._cell_view(stitched, (H // self.rows, W // self.cols))[
            self._cell_index(index)]

    def stitch(self, feat: Tensor) -> Tensor:
        """Stitch features of every cell ``(B * m * n, C, fh, fw)``.

        Returns:
            Tensor: ``(B, C, m * fh, n * fw)``.
        """
        out = self.empty_map(feat)
        return self.put(out, self.index(self.all_cells(feat.device)), feat)

    def feature_valid_shapes(self, map_shape: Size2d) -> List[Size2d]:
        """Each image's valid region in a stitched map of ``map_shape``."""
        sy = map_shape[0] / self.padded_shape[0]
        sx = map_shape[1] / self.padded_shape[1]
        return [(max(1, math.ceil(h * sy)), max(1, math.ceil(w * sx)))
                for h, w in self.valid_shapes]

    def has_padding(self, map_shape: Size2d) -> bool:
        """Whether any image leaves part of a map of ``map_shape`` unused."""
        return any(v != tuple(map_shape)
                   for v in self.feature_valid_shapes(map_shape))

    def mask_padding(self, z: Tensor) -> Tensor:
        """``z`` ``(B, C, H, W)`` with zeros outside each image's region."""
        if not self.has_padding(z.shape[-2:]):
            return z
        return z * self.valid_mask(z.shape[-2:], z.device).to(z.dtype)

    def valid_mask(self, map_shape: Size2d,
                   device: Union[str, torch.device] = 'cpu') -> Tensor:
        """``(B, 1, *map_shape)`` bool mask of the unpadded region."""
        mask = torch.zeros(
            self.batch_size, 1, *map_shape, dtype=torch.bool, device=device)
        for i, (h, w) in enumerate(self.feature_valid_shapes(map_shape)):
            mask[i, :, :h, :w] = True
        return mask

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

    def place_global(self, g: Tensor, map_shape: Size2d) -> Tensor:
        """Resize global features onto each image's valid region of a map.

        Args:
            g (Tensor): ``(B, C, gh, gw)``, features of the global patch.
            map_shape (tuple[int, int]): ``(Hz, Wz)`` of the stitched map.

        Returns:
            Tensor: ``(B, C, Hz, Wz)``, zero outside the valid region. A
            ``1 x 1`` ``g`` (a pooled vector) is broadcast over the region.
        """
        outs = []
        for i, (h, w) in enumerate(self.feature_valid_shapes(map_shape)):
            gi = g[i:i + 1]
            if gi.shape[-2:] == (1, 1):
                gi = gi.expand(-1, -1, h, w)
            elif gi.shape[-2:] != (h, w):
                gi = F.interpolate(
                    gi, size=(h, w), mode='bilinear', align_corners=False)
            if (h, w) != tuple(map_shape):
                gi = F.pad(gi, (0, map_shape[1] - w, 0, map_shape[0] - h))
            outs.append(gi)
        return outs[0] if len(outs) == 1 else torch.cat(outs, dim=0)
