"""PatchGlobalSegmentor: PatchGD + global patch over an mmseg EncoderDecoder."""
from typing import Dict, List, Optional

import torch
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmseg.models.data_preprocessor import SegDataPreProcessor
from mmseg.models.segmentors import EncoderDecoder
from mmseg.registry import MODELS
from torch import Tensor, nn

from mmpatch.patchgd import LatentBuffer, PatchGDMixin
from mmpatch.patchgd.fusion import (check_patch_multiple, fuse_global,
                                    fused_channels, global_gates)
from .data_preprocessors import DeferredNormalization
from .host import HostModel


@MODELS.register_module()
class PatchSegDataPreProcessor(DeferredNormalization, SegDataPreProcessor):
    """mmseg's ``SegDataPreProcessor`` that leaves the batch uint8.

    Same arguments and metadata (padded ``gt_sem_seg`` included);
    ``inputs`` come out as the padded ``(B, 3, H, W)`` uint8 batch and
    :class:`PatchGlobalSegmentor` normalises each patch as it reads it. Only
    for PatchGD models: a stock segmentor needs ``SegDataPreProcessor``.
    """
    host_flags = dict(
        to_rgb='channel_conversion',
        normalize='_enable_normalize',
        pad_value='pad_val')


@MODELS.register_module()
class PatchGlobalSegmentor(HostModel, PatchGDMixin, EncoderDecoder):
    """Semantic segmentation of whole high-resolution images
    (docs/method.md).

    It takes the arguments of mmseg's ``EncoderDecoder`` (``backbone``,
    ``decode_head``, ``neck``, ...: a stock mmseg config only changes
    ``type``) plus those below and:

    * θ1 = backbone (+ neck) + decode head, whose classifier ``conv_seg``
      becomes a 1x1 conv to ``latent_channels``; run on one patch it gives a
      ``(N, C, ph / s, pw / s)`` map at the head's output stride ``s``.
    * Z = the stitched ``(B, C, m * ph / s, n * pw / s)`` map; G = θ1 of the
      global patch, resized onto each image's region of Z.
    * θ2 = ``num_fusion_convs`` 3x3 conv-BN-ReLU layers (default none) and
      a 1x1 conv from the fused ``2C`` (concat) or ``C`` (add / no global
      patch) channels to the class logits.
    * Losses are the decode head's ``loss_decode`` list (CE, BCE, Dice, ...),
      computed by its own ``loss_by_feat``; predictions go through mmseg's
      ``postprocess_result`` at the original image size.

    Args:
        patch_cfg (dict): PatchGD options, see :class:`PatchGDConfig`.
        latent_channels (int): C, channels of Z. Defaults to 8.
        global_fusion (str, optional): ``'concat'``, ``'add'``, ``'gated'``
            or ``None`` (PatchGD without the global patch). Defaults to
            ``'concat'``.
        num_fusion_convs (int): 3x3 layers in θ2 before the classifier.
        fusion_channels (int): width of those layers.
    """

    host_model_type = 'EncoderDecoder'
    patchgd_args = HostModel.patchgd_args + ('num_fusion_convs',
                                                'fusion_channels')
    host_preprocessors = dict(PatchSegDataPreProcessor='SegDataPreProcessor')

    def __init__(self,
                 patch_cfg: Optional[dict] = None,
                 latent_channels: int = 8,
                 global_fusion: Optional[str] = 'concat',
                 num_fusion_convs: int = 0,
                 fusion_channels: int = 32,
                 **kwargs) -> None:
        self.refuse_host_option(
            kwargs.get('auxiliary_head'),
            'does not train an auxiliary head: its features are per patch, '
            'not per image. Set model.auxiliary_head=None in the config.')
        super().__init__(**kwargs)
        self.init_patchgd(patch_cfg, global_fusion)
        head = self.decode_head
        head.conv_seg = nn.Conv2d(head.conv_seg.in_channels, latent_channels,
                                  1)
        self.latent_channels = latent_channels
        in_ch = fused_channels(latent_channels, global_fusion)
        self.global_gates = global_gates(global_fusion, 1, latent_channels)
        layers: List[nn.Module] = []
        for _ in range(num_fusion_convs):
            layers.append(
                ConvModule(
                    in_ch,
                    fusion_channels,
                    3,
                    padding=1,
                    norm_cfg=dict(type='BN'),
                    act_cfg=dict(type='ReLU')))
            in_ch = fusion_channels
        layers.append(nn.Conv2d(in_ch, self.out_channels, 1))
        self.fusion_head = nn.Sequential(*layers)
        self.patch_stride = self._check_patch_size()

    # ------------------------------------------------------------------ θ1
    def encode_patches(self, patches: Tensor) -> List[Tensor]:
        """θ1: ``(N, 3, ph, pw)`` -> ``[(N, C, ph / s, pw / s)]``."""
        return [self.decode_head(self.extract_feat(patches))]

    def patch_encoder_modules(self) -> List[nn.Module]:
        mods = [self.backbone, self.decode_head]
        return mods + ([self.neck] if self.with_neck else [])

    def _check_patch_size(self) -> int:
        """Validate the patch size against the network; return stride s.

        A patch must be a multiple of the deepest backbone stride, or the
        per-patch maps would not tile the whole-image map exactly.
        """
        probe = 256
        with self.probing():
            feats = self.extract_feat(torch.zeros(1, 3, probe, probe))
            out = self.decode_head(feats)
        check_patch_multiple(
            self.patch_cfg.patch_size,
            max(probe // f.shape[-1] for f in feats),
            f'the total stride of the backbone {type(self.backbone).__name__}')
        return probe // out.shape[-1]

    # ------------------------------------------------------------------ θ2
    def seg_logits(self, latent: LatentBuffer,
                   global_feats: List[Tensor]) -> Tensor:
        """Class logits of the whole batch ``(B, K, H, W)``.

        ``(H, W)`` is the preprocessed batch's size: the grid's extra padding
        is cropped, and the batch padding is what mmseg expects.
        """
        grid = latent.grid
        z = fuse_global(grid, latent.maps[0],
                        global_feats[0] if global_feats else None,
                        self.global_fusion,
                        gate=None if self.global_gates is None else
                        self.global_gates[0])
        logits = self.fusion_head(z)
        if logits.shape[-2:] != grid.padded_shape:
            logits = F.interpolate(
                logits,
                size=grid.padded_shape,
                mode='bilinear',
                align_corners=self.align_corners)
        H, W = grid.batch_shape
        return logits[..., :H, :W]

    def loss_by_latent(self, latent: LatentBuffer, global_feats: List[Tensor],
                       data_samples: list) -> Dict[str, Tensor]:
        return self.decode_head.loss_by_feat(
            self.seg_logits(latent, global_feats), data_samples)

    def predict_by_latent(self, latent: LatentBuffer,
                          global_feats: List[Tensor],
                          data_samples: Optional[list]) -> list:
        return self.postprocess_result(
            self.seg_logits(latent, global_feats), data_samples)

    # ----------------------------------------------- mmseg entry points
    def predict(self, inputs: Tensor, data_samples: Optional[list] = None):
        if data_samples is None:  # mmseg's default metainfo for bare inputs
            from mmseg.structures import SegDataSample
            data_samples = [
                SegDataSample(
                    metainfo=dict(
                        ori_shape=inputs.shape[2:],
                        img_shape=inputs.shape[2:],
                        padding_size=[0, 0, 0, 0]))
                for _ in range(inputs.shape[0])
            ]
        return super().predict(inputs, data_samples)

    def encode_decode(self, inputs: Tensor, batch_img_metas: List[dict]):
        """Whole-image logits, so mmseg's ``inference`` and TTA use PatchGD."""
        from mmengine.structures import BaseDataElement
        samples = [BaseDataElement(metainfo=m) for m in batch_img_metas]
        latent, global_feats = self.encode_image(inputs, samples)
        return self.seg_logits(latent, global_feats)

    def _forward(self, inputs: Tensor, data_samples: Optional[list] = None):
        """``mode='tensor'``: the whole-image logits ``(B, K, H, W)``."""
        latent, global_feats = self.encode_image(inputs, data_samples)
        return self.seg_logits(latent, global_feats)
