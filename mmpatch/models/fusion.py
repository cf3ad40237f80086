"""Fusing the latent buffer Z with the global patch's features G."""
from typing import Optional

import torch
from torch import Tensor

FUSION_MODES = ('concat', 'add', None)


def check_fusion(mode: Optional[str]) -> Optional[str]:
    """Validate a ``global_fusion`` option."""
    if mode not in FUSION_MODES:
        raise ValueError(f'global_fusion must be one of {FUSION_MODES}, got '
                         f'{mode!r}')
    return mode


def fuse_maps(z: Tensor, g: Tensor, mode: Optional[str]) -> Tensor:
    """Fuse ``z`` ``(B, C, H, W)`` with ``g`` placed on the same grid.

    ``'concat'`` gives ``(B, 2C, H, W)``, ``'add'`` ``(B, C, H, W)`` and
    ``None`` returns ``z`` unchanged.
    """
    if mode is None:
        return z
    g = g.to(z.dtype)
    if mode == 'add':
        return z + g
    return torch.cat([z, g], dim=1)
