"""What every task adapter does with Z and G: fusion and patch-size checks.

The adapters differ only in θ1 and in their library's head; the way Z meets
the global features G is the same for all three and lives here once:
mask the batch padding of Z, resize G onto each image's region of Z, and
fuse (``'concat'``, ``'add'``, ``'gated'`` or no global patch).

``'gated'`` is the residual ``Z + tanh(a) * G`` with one learnt gate ``a``
per channel, zero at the start (as Flamingo's gated cross-attention): θ2
starts from the patch features alone and the global patch enters only as
far as its gradient asks, so it cannot dilute Z the way a concatenation
does from the first step.
"""
import math
from typing import List, Optional, Tuple, Union

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .grid import PatchGrid, Size2d

FUSION_MODES = ('concat', 'add', 'gated', None)


def check_fusion(mode: Optional[str]) -> Optional[str]:
    """Validate a ``global_fusion`` option."""
    if mode not in FUSION_MODES:
        raise ValueError(f'global_fusion must be one of {FUSION_MODES}, got '
                         f'{mode!r}')
    return mode


def fused_channels(channels: int, mode: Optional[str]) -> int:
    """Channels of Z fused with G: ``2C`` for concat, else ``C``."""
    return channels * (2 if mode == 'concat' else 1)


def global_gates(mode: Optional[str], num_maps: int,
                 channels: int) -> Optional[nn.Parameter]:
    """The zero-initialised gates of ``'gated'`` fusion, ``(num_maps, C)``
    (one row per map of Z the adapter fuses); None for the other modes."""
    if mode != 'gated':
        return None
    return nn.Parameter(torch.zeros(num_maps, channels))


# ------------------------------------------ each image's region of Z's maps
def feature_valid_shapes(grid: PatchGrid,
                         map_shape: Size2d) -> List[Size2d]:
    """Each image's valid region in a stitched map of ``map_shape``."""
    sy = map_shape[0] / grid.padded_shape[0]
    sx = map_shape[1] / grid.padded_shape[1]
    return [(max(1, math.ceil(h * sy)), max(1, math.ceil(w * sx)))
            for h, w in grid.valid_shapes]


def valid_mask(grid: PatchGrid,
               map_shape: Size2d,
               device: Union[str, torch.device] = 'cpu') -> Tensor:
    """``(B, 1, *map_shape)`` bool mask of each image's unpadded region."""
    mask = torch.zeros(
        grid.batch_size, 1, *map_shape, dtype=torch.bool, device=device)
    for i, (h, w) in enumerate(feature_valid_shapes(grid, map_shape)):
        mask[i, :, :h, :w] = True
    return mask


def mask_padded(grid: PatchGrid, z: Tensor) -> Tensor:
    """``z`` ``(B, C, H, W)`` with zeros outside each image's region."""
    shape = tuple(z.shape[-2:])
    if all(v == shape for v in feature_valid_shapes(grid, shape)):
        return z
    return z * valid_mask(grid, shape, z.device).to(z.dtype)


def place_global(grid: PatchGrid, g: Tensor, map_shape: Size2d) -> Tensor:
    """Resize global features onto each image's valid region of a map.

    Args:
        grid (PatchGrid): the grid the map is laid on.
        g (Tensor): ``(B, C, gh, gw)``, features of the global patch.
        map_shape (tuple[int, int]): ``(Hz, Wz)`` of the stitched map.

    Returns:
        Tensor: ``(B, C, Hz, Wz)``, zero outside the valid region. A
        ``1 x 1`` ``g`` (a pooled vector) is broadcast over the region.
    """
    outs = []
    for i, (h, w) in enumerate(feature_valid_shapes(grid, map_shape)):
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


def fuse_maps(z: Tensor, g: Tensor, mode: Optional[str],
              gate: Optional[Tensor] = None) -> Tensor:
    """Fuse ``z`` ``(B, C, H, W)`` with ``g`` placed on the same grid.

    ``'concat'`` gives ``(B, 2C, H, W)``, ``'add'`` and ``'gated'`` (which
    needs ``gate``, ``(C,)``) ``(B, C, H, W)``, and ``None`` returns ``z``
    unchanged.
    """
    if mode is None:
        return z
    g = g.to(z.dtype)
    if mode == 'add':
        return z + g
    if mode == 'gated':
        if gate is None:
            raise ValueError("global_fusion='gated' needs the map's gate "
                             '(global_gates), got None')
        return z + torch.tanh(gate).to(z.dtype).view(1, -1, 1, 1) * g
    return torch.cat([z, g], dim=1)


def fuse_global(grid: PatchGrid,
                z: Tensor,
                g: Optional[Tensor],
                mode: Optional[str],
                mask_padding: bool = True,
                gate: Optional[Tensor] = None) -> Tensor:
    """One map of Z fused with the global features, as θ2 reads it.

    Args:
        grid (PatchGrid): the grid Z is laid on.
        z (Tensor): ``(B, C, Hz, Wz)``, one level of Z.
        g (Tensor, optional): ``(B, C, gh, gw)``, the same level of G (a
            ``1 x 1`` map is a pooled vector); None without a global patch.
        mode (str, optional): ``global_fusion``.
        mask_padding (bool): zero Z outside each image's valid region first,
            so batch padding cannot reach valid positions through θ2.
        gate (Tensor, optional): ``(C,)``, this map's row of
            :func:`global_gates` (``'gated'`` only).

    Returns:
        Tensor: ``(B, fused_channels(C, mode), Hz, Wz)``.
    """
    if mask_padding:
        z = mask_padded(grid, z)
    if g is None:
        return z
    return fuse_maps(z, place_global(grid, g, z.shape[-2:]), mode, gate)


def check_patch_multiple(patch_size: Tuple[int, int], divisor: int,
                         what: str) -> None:
    """Refuse a patch size that is not a multiple of the network's stride.

    Args:
        patch_size (tuple[int, int]): ``patch_cfg.patch_size``.
        divisor (int): the stride every patch side must be a multiple of.
        what (str): names that stride in the error, e.g. ``'the total
            stride of the backbone UNet'``.
    """
    ph, pw = patch_size
    if ph % divisor or pw % divisor:
        raise ValueError(
            f'patch_cfg.patch_size={patch_size} is not a multiple of '
            f'{divisor}, {what}; per-patch maps would not tile the '
            'whole-image maps: use e.g. '
            f'{max(divisor, round(ph / divisor) * divisor)}')
