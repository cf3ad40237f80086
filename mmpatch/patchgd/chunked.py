"""θ1's gradient from dL/dZ, one chunk of cells at a time.

Once θ2 and the loss have been back-propagated into Z (held as leaves,
:meth:`LatentBuffer.leaves`), the gradient that reaches θ1 through a cell
is ``dL/dZ[cell]`` pushed back through θ1 on that cell's patch. The cells
are re-encoded with gradients a chunk at a time and each chunk is
back-propagated with its slice of dL/dZ, so θ1 accumulates the gradient of
all of them while memory holds one chunk's activations (docs/method.md,
"Chunked backward"). Both passes over a cell (the one that wrote Z and
this one) compute the same features: the same chunks, and BatchNorm
running statistics moved by the first pass only.
"""
from typing import TYPE_CHECKING, Any, List

import torch
from torch import Tensor

from .grid import CellIndex
from .latent import LatentBuffer
from .norm import frozen_running_stats

if TYPE_CHECKING:
    from .mixin import PatchGDMixin


class ChunkedBackward:
    """Chunked encoding and backward of the cells of ``index``.

    Args:
        model (PatchGDMixin): the model.
        pixels: the grid-padded batch (a tensor or a pixel source).
        index (CellIndex): the (image, cell) pairs, image-major.
        chunk (int): patches per forward of θ1.
        optim_wrapper: its ``optim_context`` (autocast) wraps each forward.
    """

    def __init__(self, model: 'PatchGDMixin', pixels: Any, index: CellIndex,
                 chunk: int, optim_wrapper) -> None:
        self.model = model
        self.pixels = pixels
        self.chunks = index.chunks(chunk)
        self.optim_wrapper = optim_wrapper

    def _encode(self, grid, part: CellIndex) -> List[Tensor]:
        with self.optim_wrapper.optim_context(self.model):
            return list(
                self.model.encode_patches(grid.gather(self.pixels, part)))

    def encode(self, latent: LatentBuffer) -> List[Tensor]:
        """First pass, without gradients: the cells' features written into
        Z's storage. Returns per level the values they replaced,
        ``(N, C_l, fh_l, fw_l)`` in ``index`` order."""
        replaced = []
        with torch.no_grad():
            for part in self.chunks:
                replaced.append(
                    latent.write_(part, self._encode(latent.grid, part)))
        return [torch.cat(level) for level in zip(*replaced)]

    def backward(self, leaves: LatentBuffer, write_back: bool = False) -> None:
        """Second pass: each chunk re-encoded with gradients and
        back-propagated with its slice of dL/dZ (``leaves``' gradients).

        Args:
            leaves (LatentBuffer): Z after θ2's backward.
            write_back (bool): also store the re-encoded features in Z (a Z
                from the latent cache then leaves the step fresh).
        """
        modules = self.model.patch_encoder_modules()
        for part in self.chunks:
            with frozen_running_stats(modules):
                feats = self._encode(leaves.grid, part)
            grads = leaves.grads(part)
            torch.autograd.backward(
                feats, [g.to(f.dtype) for f, g in zip(feats, grads)])
            if write_back:
                leaves.write_(part, [f.detach() for f in feats])
