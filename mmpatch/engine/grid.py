"""The patch grid: patchify a padded batch, stitch per-patch maps, global patch.

Conventions used throughout mmpatch:

* A batch ``x`` is ``(B, C, H, W)`` as the data preprocessor returns it.
* The grid pads it at the bottom/right to ``(B, C, m * ph, n * pw)``
  (``m`` rows and ``n`` columns of ``ph x pw`` patches).
* A grid *cell* is an integer ``r * n + c``; a *cell plan* for one inner
  iteration is a ``(B, k)`` long tensor of cells, one row per image.
* A per-patch feature map of shape ``(C', fh, fw)`` stitches into a
  whole-image map ``(B, C', m * fh, n * fw)``: cell ``(r, c)`` occupies rows
  ``r * fh : (r + 1) * fh`` and columns ``c * fw : (c + 1) * fw``.
"""
import math
from typing import Callable, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from torch import Tensor

from .mapped import MappedBatch

Size2d = Tuple[int, int]


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
            :class:`~mmpatch.engine.preprocess.DeferredNormalization`), maps
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
    def pad(self, x: Tensor) -> Tensor:
        """Zero-pad ``(B, C, H, W)`` at the bottom/right to the grid size.

        A :class:`~mmpatch.engine.mapped.MappedBatch` is returned as it is:
        its reads are zero outside each image already.
        """
        if isinstance(x, MappedBatch):
            return x
        ph, pw = self.padded_shape
        H, W = x.shape[-2:]
        if (H, W) == (ph, pw):
            return x
        return F.pad(x, (0, pw - W, 0, ph - H))

    def all_cells(self, device: Union[str, torch.device] = 'cpu') -> Tensor:
        """``(B, m * n)`` plan that names every cell of every image."""
        return torch.arange(
            self.num_cells, device=device).expand(self.batch_size, -1)

    @staticmethod
    def flatten_plan(cells: Tensor) -> Tuple[Tensor, Tensor]:
        """``(B, k)`` plan -> image indices and cell ids, each ``(B * k,)``."""
        B, k = cells.shape
        images = torch.arange(B, device=cells.device).repeat_interleave(k)
        return images, cells.reshape(-1)

    def gather(self, x: Tensor, images: Tensor, cell_ids: Tensor) -> Tensor:
        """Patches of (image, cell) pairs of a grid-padded batch.

        Args:
            x (Tensor | MappedBatch): ``(B, C, m * ph, n * pw)``, the output
                of :meth:`pad`, or a mapped batch (read patch by patch).
            images (Tensor): ``(N,)`` image index of each patch.
            cell_ids (Tensor): ``(N,)`` cell of each patch.

        Returns:
            Tensor: ``(N, C, ph, pw)``, normalised if ``x`` is uint8.
        """
        if isinstance(x, MappedBatch):
            ph, pw = self.patch_size
            patches = x.patches(images, (cell_ids // self.cols) * ph,
                                (cell_ids % self.cols) * pw, self.patch_size)
        else:
            patches = self._cell_view(x, self.patch_size)[self._cell_index(
                images, cell_ids)]
        if not self._is_raw(x):
            return patches
        patches = self.normalize(patches)
        # the host pads with 0 *after* normalising: so must we
        mask = self.patch_valid_mask(images, cell_ids)
        return patches if mask is None else patches * mask.to(patches.dtype)

    def _cell_view(self, t: Tensor, cell_hw: Size2d) -> Tensor:
        """``(B, C, m * h, n * w)`` viewed as ``(B, C, m, h, n, w)``."""
        B, C = t.shape[:2]
        return t.view(B, C, self.rows, cell_hw[0], self.cols, cell_hw[1])

    def _cell_index(self, images: Tensor, cell_ids: Tensor) -> tuple:
        """Index of (image, cell) pairs into a :meth:`_cell_view`; the
        advanced indices on dims 0, 2, 4 go first: ``(N, C, h, w)``."""
        return (images, slice(None), cell_ids // self.cols, slice(None),
                cell_ids % self.cols, slice(None))

    def _is_raw(self, x: Tensor) -> bool:
        """Whether ``x`` holds uint8 pixels still to be normalised."""
        if x.dtype != torch.uint8:
            return False
        if self.normalize is None:
            raise TypeError(
                'a uint8 batch reached the patch grid without a normaliser: '
                'the model\'s data_preprocessor left the pixels unnormalised '
                'but has no normalize_patch(); use one of mmpatch\'s '
                'PatchDetDataPreprocessor / PatchSegDataPreProcessor / '
                "PatchClsDataPreprocessor, or the host library's own "
                'preprocessor')
        return True

    def patch_valid_mask(self, images: Tensor,
                         cell_ids: Tensor) -> Optional[Tensor]:
        """``(N, 1, ph, pw)`` bool mask of each patch's pixels inside its
        image's valid region; None when every pixel is."""
        ph, pw = self.patch_size
        if all((h, w) == self.padded_shape for h, w in self.valid_shapes):
            return None
        valid = torch.tensor(self.valid_shapes, device=images.device)
        rows = valid[images, 0] - (cell_ids // self.cols) * ph
        cols = valid[images, 1] - (cell_ids % self.cols) * pw
        ys = torch.arange(ph, device=images.device)
        xs = torch.arange(pw, device=images.device)
        mask = ((ys[None, :, None] < rows[:, None, None])
                & (xs[None, None, :] < cols[:, None, None]))
        return mask[:, None]

    def patches(self, x: Tensor, cells: Tensor) -> Tensor:
        """``(B * k, C, ph, pw)`` patches of a ``(B, k)`` plan, image-major."""
        return self.gather(x, *self.flatten_plan(cells))

    # --------------------------------------------------------------- features
    def empty_map(self, feat: Tensor) -> Tensor:
        """Zeros for the stitched map of per-patch features ``(N, C, fh, fw)``.

        Returns:
            Tensor: ``(B, C, m * fh, n * fw)`` with ``feat``'s dtype/device.
        """
        C, fh, fw = feat.shape[1:]
        return feat.new_zeros(self.batch_size, C, self.rows * fh,
                              self.cols * fw)

    def put(self, stitched: Tensor, images: Tensor, cell_ids: Tensor,
            feat: Tensor) -> Tensor:
        """Write per-patch maps of (image, cell) pairs into a stitched map.

        In place on ``stitched``; autograd records it, so writing into a
        fresh clone is an out-of-place scatter.

        Args:
            stitched (Tensor): ``(B, C, m * fh, n * fw)``.
            images (Tensor): ``(N,)`` image index of each map.
            cell_ids (Tensor): ``(N,)`` cell of each map.
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
        self._cell_view(stitched, (fh, fw))[self._cell_index(
            images, cell_ids)] = feat.to(stitched.dtype)
        return stitched

    def take(self, stitched: Tensor, images: Tensor,
             cell_ids: Tensor) -> Tensor:
        """The inverse of :meth:`put`: ``(N, C, fh, fw)`` maps of (image,
        cell) pairs, copied out of a stitched ``(B, C, m * fh, n * fw)``."""
        H, W = stitched.shape[-2:]
        return self._cell_view(stitched, (H // self.rows, W // self.cols))[
            self._cell_index(images, cell_ids)]

    def write(self, stitched: Tensor, cells: Tensor, feat: Tensor) -> Tensor:
        """:meth:`put` for a ``(B, k)`` plan and ``(B * k, C, fh, fw)`` maps."""
        return self.put(stitched, *self.flatten_plan(cells), feat)

    def stitch(self, feat: Tensor) -> Tensor:
        """Stitch features of every cell ``(B * m * n, C, fh, fw)``.

        Returns:
            Tensor: ``(B, C, m * fh, n * fw)``.
        """
        out = self.empty_map(feat)
        return self.write(out, self.all_cells(feat.device), feat)

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
    def global_patch(self, x: Tensor, size: Size2d) -> Tensor:
        """Each image's valid region resized to ``size``.

        Args:
            x (Tensor | MappedBatch): ``(B, C, H, W)`` batch (padded or not).
            size (tuple[int, int]): ``(gh, gw)``.

        Returns:
            Tensor: ``(B, C, gh, gw)``, normalised if ``x`` is uint8.
            Padding never enters it.
        """
        raw = self._is_raw(x)
        outs = []
        for i, (h, w) in enumerate(self.valid_shapes):
            if raw:
                # read in bands of rows, so that neither the whole image in
                # float nor (for a mapped batch) the whole image at all is
                # ever held; resizing commutes with the per-channel affine
                # normalisation (its weights sum to one)
                def read(y0: int, y1: int, i: int = i, w: int = w) -> Tensor:
                    return self._region(x, i, y0, y1, w).to(
                        torch.get_default_dtype())

                band = max(1, self.patch_size[0] * self.patch_size[1] // w)
                outs.append(self.normalize(_resize_bands(read, (h, w), size,
                                                         band)))
            else:
                outs.append(_resize(x[i:i + 1, :, :h, :w], size))
        return torch.cat(outs, dim=0)

    @staticmethod
    def _region(x: Tensor, i: int, y0: int, y1: int, w: int) -> Tensor:
        """Rows ``y0:y1``, columns ``0:w`` of image ``i``: ``(1, C, y1 - y0,
        w)``."""
        if isinstance(x, MappedBatch):
            return x.read(i, y0, y1, 0, w)[None]
        return x[i:i + 1, :, y0:y1, :w]

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


def _resize_bands(read: Callable[[int, int], Tensor], shape: Size2d,
                  size: Size2d, band: int) -> Tensor:
    """:func:`_resize` of an ``(h, w)`` image that ``read(y0, y1)`` gives
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
        return _resize(read(0, h), size)
    mid = None  # (1, C, h, gw): the image resized along its width
    for y in range(0, h, band):
        rows = read(y, min(y + band, h))
        if w != size[1]:
            rows = _interpolate(rows, (rows.shape[2], size[1]), True)
        if mid is None:
            mid = rows.new_empty((*rows.shape[:2], h, size[1]))
        mid[:, :, y:y + rows.shape[2]] = rows
    return _resize(mid, size, antialias=True)


def _interpolate(img: Tensor, size: Size2d, antialias: bool) -> Tensor:
    return F.interpolate(
        img,
        size=tuple(size),
        mode='bilinear',
        align_corners=False,
        antialias=antialias)


def _resize(img: Tensor, size: Size2d,
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
