"""PatchGlobalClassifier: PatchGD + global patch over an mmpretrain model."""
from typing import Dict, List, Optional

import torch
import torch.nn.functional as F
from mmcv.cnn import build_norm_layer
from mmpretrain.models.classifiers import ImageClassifier
from mmpretrain.models.utils import ClsDataPreprocessor
from mmpretrain.registry import MODELS
from torch import Tensor, nn

from mmpatch.patchgd import LatentBuffer, PatchGDMixin
from mmpatch.patchgd.fusion import fuse_global, fused_channels, global_gates
from .data_preprocessors import DeferredNormalization
from .host import HostModel


@MODELS.register_module()
class PatchClsDataPreprocessor(DeferredNormalization, ClsDataPreprocessor):
    """mmpretrain's ``ClsDataPreprocessor`` that leaves the batch uint8.

    Same arguments; ``inputs`` come out as the padded ``(B, 3, H, W)``
    uint8 batch and :class:`PatchGlobalClassifier` normalises each patch as
    it reads it (a 4096² RGB image: 48 MiB held instead of 48 + 192). Works
    with either collate function (``pseudo_collate`` or
    ``default_collate``). Only for PatchGD models: a stock classifier needs
    ``ClsDataPreprocessor``.
    """
    host_flags = dict(
        to_rgb='to_rgb', normalize='_enable_normalize', pad_value='pad_value')


class GridHead(nn.Module):
    """θ2 of classification: a small CNN over the ``(B, d, m, n)`` grid.

    Each block is 3x3 conv - norm - ReLU - dropout; a block uses stride 2
    while the grid is larger than 2x2 and stride 1 after that, chosen at run
    time, so the same weights serve any grid size (one checkpoint, several
    input resolutions). Global average pooling closes it.

    Args:
        in_channels (int): d (or 2d with concat fusion).
        channels (int): width of the blocks.
        num_blocks (int): number of blocks; 0 leaves the mean over the grid.
        dropout (float): dropout probability after each block.
        norm_cfg (dict): the blocks' normalisation, built by mmcv's
            ``build_norm_layer``. BatchNorm (the default, PatchGD's) sees
            only ``B * m' * n'`` values a channel, 4 for a batch of 4 once
            the grid is 1x1; a GroupNorm (``dict(type='GN',
            num_groups=8)``) normalises each image on its own.

    Returns (forward):
        Tensor: ``(B, out_channels)``: ``channels``, or ``in_channels``
        without blocks.
    """

    def __init__(self,
                 in_channels: int,
                 channels: int = 256,
                 num_blocks: int = 3,
                 dropout: float = 0.1,
                 norm_cfg: Optional[dict] = None) -> None:
        super().__init__()
        norm_cfg = norm_cfg or dict(type='BN')
        self.convs = nn.ModuleList()
        self.norms = nn.ModuleList()
        for i in range(num_blocks):
            self.convs.append(
                nn.Conv2d(in_channels if i == 0 else channels, channels, 3,
                          padding=1, bias=False))
            self.norms.append(build_norm_layer(norm_cfg, channels)[1])
        self.dropout = nn.Dropout(dropout)
        # no blocks: θ2 is the mean of the grid, as wide as its input
        self.out_channels = channels if num_blocks else in_channels

    def forward(self, x: Tensor) -> Tensor:
        for conv, norm in zip(self.convs, self.norms):
            stride = 2 if min(x.shape[-2:]) > 2 else 1
            x = F.conv2d(x, conv.weight, None, stride, padding=1)
            x = self.dropout(F.relu(norm(x)))
        return x.mean(dim=(2, 3))


@MODELS.register_module()
class PatchGlobalClassifier(HostModel, PatchGDMixin, ImageClassifier):
    """Image classification of whole high-resolution images
    (docs/method.md).

    It takes the arguments of mmpretrain's ``ImageClassifier``
    (``backbone``, ``neck``, ``head``, ...) plus those below and:

    * θ1 = the backbone + ``neck`` (``GlobalAveragePooling``) + an optional
      1x1 projection to ``latent_channels``: one d-vector per patch, so Z is
      ``(B, d, m, n)``.
    * G = θ1 of the global patch, ``(B, d)``, broadcast over the grid and
      added to Z (``global_fusion='add'``, what the paper found best), or
      concatenated (``'concat'``), or left out (``None``: plain PatchGD).
    * θ2 = :class:`GridHead` then the configured mmpretrain ``head`` (e.g.
      ``LinearClsHead`` with ``in_channels`` = ``grid_head.channels``) and
      its loss.

    Args:
        patch_cfg (dict): PatchGD options, see :class:`PatchGDConfig`.
        latent_channels (int, optional): d, channels of Z; ``None`` keeps the
            backbone's width.
        global_fusion (str, optional): ``'add'``, ``'concat'``, ``'gated'``
            or ``None``.
        grid_head (dict): :class:`GridHead` arguments (without
            ``in_channels``).
    """

    host_model_type = 'ImageClassifier'
    patchgd_args = HostModel.patchgd_args + ('grid_head', )
    host_preprocessors = dict(PatchClsDataPreprocessor='ClsDataPreprocessor')

    @classmethod
    def host_model_cfg(cls, cfg: dict) -> dict:
        """mmpretrain's ``ImageClassifier`` (with the pooling neck that
        θ1 implies when the config names none)."""
        out = super().host_model_cfg(cfg)
        if out.get('neck') is None:
            out['neck'] = dict(type='GlobalAveragePooling')
        return out

    def __init__(self,
                 patch_cfg: Optional[dict] = None,
                 latent_channels: Optional[int] = None,
                 global_fusion: Optional[str] = 'add',
                 grid_head: Optional[dict] = None,
                 **kwargs) -> None:
        if kwargs.get('neck') is None:
            kwargs['neck'] = dict(type='GlobalAveragePooling')
        self.refuse_host_option(
            (kwargs.get('train_cfg') or {}).get('augments'),
            'does not support batch augments (train_cfg.augments, e.g. '
            'Mixup/CutMix): they mix whole images before patching; remove '
            'them from the config')
        super().__init__(**kwargs)
        self.init_patchgd(patch_cfg, global_fusion)
        width = self._backbone_width()
        self.latent_proj = nn.Conv2d(width, latent_channels,
                                     1) if latent_channels else None
        self.latent_channels = latent_channels or width
        self.global_gates = global_gates(global_fusion, 1,
                                         self.latent_channels)
        self.grid_head = GridHead(
            fused_channels(self.latent_channels, global_fusion),
            **(grid_head or {}))

    def _backbone_width(self) -> int:
        """Channels of the pooled backbone output, found with a probe."""
        with self.probing():
            probe = torch.zeros(1, 3, *self.patch_cfg.patch_size)
            return self._pooled(probe).shape[1]

    def _pooled(self, patches: Tensor) -> Tensor:
        feats = self.extract_feat(patches, stage='neck')
        vec = feats[-1] if isinstance(feats, (tuple, list)) else feats
        return vec.flatten(1)

    # ------------------------------------------------------------------ θ1
    def encode_patches(self, patches: Tensor) -> List[Tensor]:
        """θ1: ``(N, 3, ph, pw)`` -> ``[(N, d, 1, 1)]``."""
        vec = self._pooled(patches)[..., None, None]
        if self.latent_proj is not None:
            vec = self.latent_proj(vec)
        return [vec]

    def patch_encoder_modules(self) -> List[nn.Module]:
        mods = [self.backbone] + ([self.neck] if self.with_neck else [])
        return mods + ([self.latent_proj] if self.latent_proj else [])

    # ------------------------------------------------------------------ θ2
    def grid_features(self, latent: LatentBuffer,
                      global_feats: List[Tensor]) -> Tensor:
        """``(B, channels)``: θ2's grid CNN over Z fused with G (cells made
        only of padding carry no image and are zeroed)."""
        z = fuse_global(latent.grid, latent.maps[0],
                        global_feats[0] if global_feats else None,
                        self.global_fusion,
                        gate=None if self.global_gates is None else
                        self.global_gates[0])
        return self.grid_head(z)

    def loss_by_latent(self, latent: LatentBuffer, global_feats: List[Tensor],
                       data_samples: list) -> Dict[str, Tensor]:
        return self.head.loss((self.grid_features(latent, global_feats), ),
                              data_samples)

    def predict_by_latent(self, latent: LatentBuffer,
                          global_feats: List[Tensor],
                          data_samples: Optional[list]) -> list:
        return self.head.predict(
            (self.grid_features(latent, global_feats), ), data_samples)

    # ------------------------------------------ mmpretrain entry points
    def forward(self,
                inputs: Tensor,
                data_samples: Optional[list] = None,
                mode: str = 'tensor'):
        if mode == 'tensor':
            latent, global_feats = self.encode_image(inputs, data_samples)
            return self.head((self.grid_features(latent, global_feats), ))
        return super().forward(inputs, data_samples, mode)

    def predict(self, inputs: Tensor, data_samples: Optional[list] = None,
                **kwargs) -> list:
        return PatchGDMixin.predict(self, inputs, data_samples)
