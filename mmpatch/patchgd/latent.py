"""The latent buffer Z: the stitched patch features of a whole batch."""
from typing import Callable, List, Sequence, Tuple

import torch
from torch import Tensor

from .grid import CellIndex, PatchGrid

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
                maps = [grid.empty_map(f) for f in feats]
            for level, f in zip(maps, feats):
                grid.put(level, index, f)
        if pieces:
            maps = [
                grid.stitch(torch.cat(level_pieces))
                for level_pieces in zip(*pieces)
            ]
        return cls(grid, maps)

    def scatter(self, cells: Tensor,
                feats: Sequence[Tensor]) -> 'LatentBuffer':
        """Z with the cells of ``cells`` replaced by ``feats``, out of place.

        The stored maps are detached first, so autograd reaches ``feats``
        only, never the fill.

        Args:
            cells (Tensor): ``(B, k)`` cell plan.
            feats (list[Tensor]): per level ``(B * k, C_l, fh_l, fw_l)``.
        """
        if cells.numel() == 0:
            return self.detach()
        copy = LatentBuffer(self.grid, [m.detach().clone() for m in self.maps])
        return copy.scatter_(cells, feats)[0]

    def scatter_(self, cells: Tensor, feats: Sequence[Tensor]
                 ) -> Tuple['LatentBuffer', List[Tensor]]:
        """:meth:`scatter` written into Z's own storage, without a copy.

        Saves one whole-image copy of Z per inner iteration. The returned
        buffer shares the stored maps' memory and carries autograd history
        to ``feats`` only; the stored maps themselves are overwritten in the
        ``cells``. Their previous values are returned for :meth:`restore_`.

        Args:
            cells (Tensor): ``(B, k)`` cell plan.
            feats (list[Tensor]): per level ``(B * k, C_l, fh_l, fw_l)``.

        Returns:
            tuple: the updated buffer, and per level the ``(B * k, C_l, fh_l,
            fw_l)`` values the cells held before.
        """
        if cells.numel() == 0:
            return self.detach(), []
        maps, previous = [], []
        index = self.grid.index(cells)
        for level, f in zip(self.maps, feats):
            if f.dtype != level.dtype:
                level = level.to(f.dtype)  # e.g. a float32 fill under AMP
            # a fresh autograd identity each time: the previous iteration's
            # graph (already freed by its backward) must not be reached
            level = level.detach()
            previous.append(self.grid.take(level, index))
            maps.append(self.grid.put(level, index, f))
        return LatentBuffer(self.grid, maps), previous

    def restore_(self, cells: Tensor, previous: List[Tensor]) -> None:
        """Write back the values :meth:`scatter_` replaced (after backward).
        """
        if cells.numel() == 0:
            return
        index = self.grid.index(cells)
        with torch.no_grad():
            for level, old in zip(self.maps, previous):
                self.grid.put(level.detach(), index, old)

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
                previous.append(self.grid.take(level.detach(), index))
                self.grid.put(level.detach(), index, f)
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
            self.grid.take(m.grad, index) if m.grad is not None else
            self.grid.take(torch.zeros_like(m), index) for m in self.maps
        ]

    def detach(self) -> 'LatentBuffer':
        """Z without autograd history (keeps the patch updates)."""
        return LatentBuffer(self.grid, [m.detach() for m in self.maps])

    @property
    def nbytes(self) -> int:
        """Bytes held by the stitched maps."""
        return sum(m.numel() * m.element_size() for m in self.maps)


def _own_storage(grad: Tensor) -> Tensor:
    """dL/dZ in a storage of its own. When θ2 concatenates Z with G, Z's
    gradient arrives as a slice of the concatenation's, and keeping the
    slice would keep the whole concatenation's gradient alive through the
    chunked backward (one more Z-sized buffer, measured on FCOS-R50)."""
    if grad.untyped_storage().nbytes() > grad.numel() * grad.element_size():
        return grad.clone()
    return grad
