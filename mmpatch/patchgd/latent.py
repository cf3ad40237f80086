"""The latent buffer Z: the stitched patch features of a whole batch, the
stitching itself (per-patch maps <-> whole-image maps, see the conventions
in :mod:`~mmpatch.patchgd.grid`), and θ1's gradient through Z a chunk of
cells at a time (:class:`ChunkedBackward`)."""
from contextlib import nullcontext
from typing import Any, Callable, ContextManager, List, Sequence, Tuple

import torch
from torch import Tensor, nn

from .grid import CellIndex, PatchGrid
from .norm import eval_batch_norms, frozen_running_stats
from .phases import phase

#: θ1: ``(N, C, ph, pw)`` patches -> one ``(N, C_l, fh_l, fw_l)`` map per level
PatchEncoder = Callable[[Tensor], Sequence[Tensor]]


class LatentBuffer:
    """Z, one stitched map per feature level.

    Each level ``l`` is a ``(B, C_l, m * fh_l, n * fw_l)`` tensor: the whole
    image's level-``l`` feature map, assembled from per-patch maps without
    ever holding the activations of all patches at once.

    Args:
        grid (PatchGrid): the grid the maps are laid on.
        maps (list[Tensor]): the stitched maps, one per level.
    """

    def __init__(self, grid: PatchGrid, maps: List[Tensor]) -> None:
        self.grid = grid
        self.maps = list(maps)

    @classmethod
    def fill(cls, grid: PatchGrid, x: Tensor, encode: PatchEncoder,
             chunk: int) -> 'LatentBuffer':
        """Encode every cell of a grid-padded batch, ``chunk`` patches at a time.

        Runs under whatever grad mode the caller chooses: ``torch.no_grad()``
        for the training fill and for inference, grad-enabled for the
        reference full computation.

        Args:
            grid (PatchGrid): grid over ``x``.
            x (Tensor): ``(B, C, m * ph, n * pw)``.
            encode (callable): θ1.
            chunk (int): patches per forward of θ1.
        """
        total = grid.num_cells * grid.batch_size
        maps: List[Tensor] = []
        pieces: List[List[Tensor]] = []
        for start in range(0, total, chunk):
            index = CellIndex.span(start, min(start + chunk, total),
                                   grid.num_cells, x.device)
            feats = encode(grid.gather(x, index))
            if torch.is_grad_enabled():
                # keep the graph: concatenate, then stitch once
                pieces.append(list(feats))
                continue
            if not maps:
                maps = [empty_map(grid, f) for f in feats]
            for level, f in zip(maps, feats):
                put(grid, level, index, f)
        if pieces:
            maps = [
                stitch(grid, torch.cat(level_pieces))
                for level_pieces in zip(*pieces)
            ]
        return cls(grid, maps)

    @classmethod
    def fill_without_grad(cls,
                          grid: PatchGrid,
                          x: Any,
                          encode: PatchEncoder,
                          chunk: int,
                          eval_norms: Sequence[nn.Module] = ()
                          ) -> 'LatentBuffer':
        """The fill of a training step and of inference: :meth:`fill`
        without gradients, the BatchNorm layers inside ``eval_norms`` in
        eval mode (their running statistics, not moved)."""
        with phase('fill'), torch.no_grad(), eval_batch_norms(eval_norms):
            return cls.fill(grid, x, encode, chunk)

    def scatter_(self, index: CellIndex, feats: Sequence[Tensor]
                 ) -> Tuple['LatentBuffer', List[Tensor]]:
        """Z with the cells of ``index`` replaced by ``feats``, written into
        Z's own storage (no whole-image copy per inner iteration).

        The returned buffer shares the stored maps' memory and carries
        autograd history to ``feats`` only, never to the fill; the stored
        maps themselves are overwritten in the cells. Their previous values
        are returned for :meth:`restore_`. No cells (``feats`` empty): Z
        without autograd history.

        Args:
            index (CellIndex): ``N`` (image, cell) pairs.
            feats (list[Tensor]): per level ``(N, C_l, fh_l, fw_l)``.

        Returns:
            tuple: the updated buffer, and per level the ``(N, C_l, fh_l,
            fw_l)`` values the cells held before.
        """
        if not len(index):
            return self.detach(), []
        maps, previous = [], []
        for level, f in zip(self.maps, feats):
            if f.dtype != level.dtype:
                level = level.to(f.dtype)  # e.g. a float32 fill under AMP
            # a fresh autograd identity each time: the previous iteration's
            # graph (already freed by its backward) must not be reached
            level = level.detach()
            previous.append(take(self.grid, level, index))
            maps.append(put(self.grid, level, index, f))
        return LatentBuffer(self.grid, maps), previous

    def restore_(self, index: CellIndex, previous: List[Tensor]) -> None:
        """Write back the values :meth:`scatter_` replaced (after backward).
        """
        with torch.no_grad():
            for level, old in zip(self.maps, previous):
                put(self.grid, level.detach(), index, old)

    def write_(self, index: CellIndex,
               feats: Sequence[Tensor]) -> List[Tensor]:
        """Write per-patch maps into Z's storage at ``index``, outside
        autograd; returns per level the values they replaced.

        Args:
            index (CellIndex): ``N`` (image, cell) pairs.
            feats (list[Tensor]): per level ``(N, C_l, fh_l, fw_l)``.
        """
        previous = []
        with torch.no_grad():
            for level, f in zip(self.maps, feats):
                previous.append(take(self.grid, level.detach(), index))
                put(self.grid, level.detach(), index, f)
        return previous

    def leaves(self) -> 'LatentBuffer':
        """Z as leaf tensors that require grad, sharing Z's storage: a
        backward through θ2 leaves dL/dZ in each map's ``.grad``."""
        maps = []
        for m in self.maps:
            leaf = m.detach().requires_grad_()
            leaf.register_hook(_own_storage)
            maps.append(leaf)
        return LatentBuffer(self.grid, maps)

    def grads(self, index: CellIndex) -> List[Tensor]:
        """The ``(N, C_l, fh_l, fw_l)`` slices of dL/dZ at ``index`` (after
        a backward through :meth:`leaves`; zeros where none reached)."""
        return [
            take(self.grid, m.grad, index) if m.grad is not None else
            take(self.grid, torch.zeros_like(m), index) for m in self.maps
        ]

    def detach(self) -> 'LatentBuffer':
        """Z without autograd history (keeps the patch updates)."""
        return LatentBuffer(self.grid, [m.detach() for m in self.maps])

    @property
    def nbytes(self) -> int:
        """Bytes held by the stitched maps."""
        return sum(m.numel() * m.element_size() for m in self.maps)


class ChunkedBackward:
    """θ1's gradient from dL/dZ, one chunk of cells at a time.

    Once θ2 and the loss have been back-propagated into Z (held as leaves,
    :meth:`LatentBuffer.leaves`), the gradient that reaches θ1 through a
    cell is ``dL/dZ[cell]`` pushed back through θ1 on that cell's patch. The
    cells are re-encoded with gradients a chunk at a time and each chunk is
    back-propagated with its slice of dL/dZ, so θ1 accumulates the gradient
    of all of them while memory holds one chunk's activations
    (docs/method.md, "Chunked backward"). Both passes over a cell (the one
    that wrote Z and this one) compute the same features: the same chunks,
    and BatchNorm running statistics moved by the first pass only.

    Both passes take the (image, cell) pairs ``index`` (image-major) of
    the batch and split them into the same chunks.

    Kept chunks trade memory for time (``keep_chunks``): :meth:`fill` runs
    the first chunks of a full-gradient step's fill with gradients and keeps
    their graphs; :meth:`backward` back-propagates those directly and
    re-encodes only the other cells. The features are the same numbers
    either way (one forward per chunk, BatchNorm statistics moved once).

    Each pass reads the patches from ``pixels``, the grid-padded batch (a
    tensor or a pixel source).

    Args:
        encode (callable): θ1.
        norm_modules (list[nn.Module]): θ1's modules, whose BatchNorm
            running statistics the second pass leaves alone.
        chunk (int): patches per forward of θ1.
        context (callable): a fresh context for each forward of θ1 (the
            optimizer wrapper's autocast).
    """

    def __init__(self,
                 encode: PatchEncoder,
                 norm_modules: List[nn.Module],
                 chunk: int,
                 context: Callable[[], ContextManager] = nullcontext) -> None:
        self.encode_patches = encode
        self.norm_modules = norm_modules
        self.chunk = chunk
        self.context = context
        #: the fill's first chunks, with the graphs of their features
        self.kept: List[List[Tensor]] = []
        self.kept_chunk = chunk  # the fill chunk of the kept ones
        self.num_kept = 0  # how many the last fill kept

    def _encode(self, patches: Tensor) -> List[Tensor]:
        with self.context():
            return list(self.encode_patches(patches))

    def fill(self,
             grid: PatchGrid,
             pixels: Any,
             fill_chunk: int,
             keep: int,
             eval_norms: Sequence[nn.Module] = ()) -> LatentBuffer:
        """Z of every cell (:meth:`LatentBuffer.fill_without_grad`), the
        first ``keep`` chunks encoded with gradients and their graphs kept
        for :meth:`backward`."""
        self.kept = []

        def encode(patches: Tensor) -> List[Tensor]:
            if len(self.kept) >= keep:
                return self._encode(patches)
            with torch.enable_grad():
                feats = self._encode(patches)
            self.kept.append(feats)
            return feats

        latent = LatentBuffer.fill_without_grad(grid, pixels, encode,
                                                fill_chunk, eval_norms)
        self.num_kept, self.kept_chunk = len(self.kept), fill_chunk
        return latent

    def encode(self, latent: LatentBuffer, pixels: Any,
               index: CellIndex) -> List[Tensor]:
        """First pass, without gradients: the cells' features written into
        Z's storage. Returns per level the values they replaced,
        ``(N, C_l, fh_l, fw_l)`` in ``index`` order."""
        replaced = []
        with phase('chunk_encode'), torch.no_grad():
            for part in index.chunks(self.chunk):
                feats = self._encode(latent.grid.gather(pixels, part))
                replaced.append(latent.write_(part, feats))
        return [torch.cat(level) for level in zip(*replaced)]

    def backward(self,
                 leaves: LatentBuffer,
                 pixels: Any,
                 index: CellIndex,
                 write_back: bool = False) -> None:
        """Second pass: each chunk re-encoded with gradients and
        back-propagated with its slice of dL/dZ (``leaves``' gradients).

        The chunks :meth:`fill` kept are the first pairs of ``index`` (the
        fill's order, every cell): they are back-propagated through their
        graphs, and only the cells after them are re-encoded.

        Args:
            leaves (LatentBuffer): Z after θ2's backward.
            write_back (bool): also store the re-encoded features in Z (a Z
                from the latent cache then leaves the step fresh).
        """
        kept_cells = sum(len(feats[0]) for feats in self.kept)
        kept = index.slice(0, kept_cells).chunks(self.kept_chunk)
        rest = index.slice(kept_cells, len(index)).chunks(self.chunk)
        with phase('chunk_backward'):
            for part in kept:  # each graph is freed once back-propagated
                feats = self.kept.pop(0)
                grads = leaves.grads(part)
                torch.autograd.backward(
                    feats, [g.to(f.dtype) for f, g in zip(feats, grads)])
                del feats, grads
            for part in rest:
                # the patches are not named: a frozen stem does not keep
                # them for the backward, and nothing else should
                with frozen_running_stats(self.norm_modules):
                    feats = self._encode(leaves.grid.gather(pixels, part))
                grads = leaves.grads(part)
                torch.autograd.backward(
                    feats, [g.to(f.dtype) for f, g in zip(feats, grads)])
                if write_back:
                    leaves.write_(part, [f.detach() for f in feats])


# ------------------------------------------------- per-patch <-> stitched maps
def _cell_view(grid: PatchGrid, t: Tensor, cell_hw: Tuple[int, int]) -> Tensor:
    """``(B, C, m * h, n * w)`` viewed as ``(B, C, m, h, n, w)``."""
    B, C = t.shape[:2]
    return t.view(B, C, grid.rows, cell_hw[0], grid.cols, cell_hw[1])


def _cell_index(grid: PatchGrid, index: CellIndex) -> tuple:
    """``index`` into a :func:`_cell_view`; the advanced indices on dims
    0, 2, 4 go first: ``(N, C, h, w)``."""
    return (index.images, slice(None), index.cells // grid.cols,
            slice(None), index.cells % grid.cols, slice(None))


def empty_map(grid: PatchGrid, feat: Tensor) -> Tensor:
    """Zeros for the stitched map of per-patch features ``(N, C, fh, fw)``:
    ``(B, C, m * fh, n * fw)`` with ``feat``'s dtype and device."""
    C, fh, fw = feat.shape[1:]
    return feat.new_zeros(grid.batch_size, C, grid.rows * fh, grid.cols * fw)


def put(grid: PatchGrid, stitched: Tensor, index: CellIndex,
        feat: Tensor) -> Tensor:
    """Write per-patch maps of (image, cell) pairs into a stitched map.

    In place on ``stitched``; autograd records it, so writing into a fresh
    clone is an out-of-place scatter.

    Args:
        grid (PatchGrid): the grid the map is laid on.
        stitched (Tensor): ``(B, C, m * fh, n * fw)``.
        index (CellIndex): ``N`` (image, cell) pairs.
        feat (Tensor): ``(N, C, fh, fw)``.
    """
    B, C, H, W = stitched.shape
    fh, fw = H // grid.rows, W // grid.cols
    if feat.shape[-2:] != (fh, fw):
        raise ValueError(
            f'a patch feature map of {tuple(feat.shape[-2:])} does not '
            f'tile a stitched map of {(H, W)} on a {grid.rows}x'
            f'{grid.cols} grid: the patch size {grid.patch_size} must be '
            'a multiple of every feature stride of the patch encoder')
    _cell_view(grid, stitched, (fh, fw))[_cell_index(grid, index)] = \
        feat.to(stitched.dtype)
    return stitched


def take(grid: PatchGrid, stitched: Tensor, index: CellIndex) -> Tensor:
    """The inverse of :func:`put`: ``(N, C, fh, fw)`` maps of (image, cell)
    pairs, copied out of a stitched ``(B, C, m * fh, n * fw)``."""
    H, W = stitched.shape[-2:]
    return _cell_view(grid, stitched, (H // grid.rows, W // grid.cols))[
        _cell_index(grid, index)]


def stitch(grid: PatchGrid, feat: Tensor) -> Tensor:
    """Stitch features of every cell ``(B * m * n, C, fh, fw)`` into
    ``(B, C, m * fh, n * fw)``."""
    out = empty_map(grid, feat)
    return put(grid, out, grid.index(grid.all_cells(feat.device)), feat)


def _own_storage(grad: Tensor) -> Tensor:
    """dL/dZ in a storage of its own. When θ2 concatenates Z with G, Z's
    gradient arrives as a slice of the concatenation's, and keeping the
    slice would keep the whole concatenation's gradient alive through the
    chunked backward (one more Z-sized buffer, measured on FCOS-R50)."""
    if grad.untyped_storage().nbytes() > grad.numel() * grad.element_size():
        return grad.clone()
    return grad
