"""PatchGlobalDetector: PatchGD + global patch around mmdet's FCOS."""
from typing import Dict, List, Optional, Tuple, Union

import torch
import torch.nn.functional as F
from mmdet.models.data_preprocessors import DetDataPreprocessor
from mmdet.models.dense_heads import FCOSHead
from mmdet.models.detectors import SingleStageDetector
from mmdet.registry import MODELS
from torch import Tensor, nn

from mmpatch.patchgd import LatentBuffer, PatchGDMixin
from mmpatch.patchgd.fusion import (check_patch_multiple, fuse_global,
                                    fused_channels, global_gates)
from . import fcos_heads  # noqa: F401  (its heads, for PatchGD configs)
from .data_preprocessors import DeferredNormalization
from .host import HostModel


@MODELS.register_module()
class PatchDetDataPreprocessor(DeferredNormalization, DetDataPreprocessor):
    """mmdet's ``DetDataPreprocessor`` that leaves the batch uint8.

    Same arguments and metadata as the host's; ``inputs`` come out as the
    padded ``(B, 3, H, W)`` uint8 batch and :class:`PatchGlobalDetector`
    normalises each patch as it reads it (one byte per pixel and channel
    held instead of five). Only for PatchGD models: a stock detector needs
    ``DetDataPreprocessor``.
    """


def clip_gt_boxes(data_samples: list) -> list:
    """Clip gt boxes to each image's ``img_shape``; drop those left empty.

    Without it a box reaching past the image (a pipeline without mmdet's
    clipping ``Resize``) would make positive points in the padding.
    """
    for sample in data_samples:
        gt = sample.gt_instances
        if len(gt) == 0:
            continue
        h, w = sample.metainfo['img_shape'][:2]
        boxes = gt.bboxes
        tensor = boxes.tensor if hasattr(boxes, 'tensor') else boxes
        x = tensor[:, 0::2].clamp(0, w)
        y = tensor[:, 1::2].clamp(0, h)
        clipped = torch.stack([x[:, 0], y[:, 0], x[:, 1], y[:, 1]], dim=1)
        keep = (clipped[:, 2] > clipped[:, 0]) & (clipped[:, 3] > clipped[:, 1])
        if hasattr(boxes, 'tensor'):
            boxes.tensor = clipped
        else:
            gt.bboxes = clipped
        sample.gt_instances = gt[keep]
    return data_samples


def conv_after_1x1(x: Tensor, fuse: nn.Conv2d, conv: nn.Conv2d) -> Tensor:
    """``conv(fuse(x))`` without materialising ``fuse(x)``.

    ``fuse`` is a 1x1 conv ``(B, Cin, H, W) -> (B, F, H, W)`` and ``conv`` a
    plain conv ``F -> O`` (e.g. FCOS's 3x3 ``conv_cls``). Both are linear,
    so they compose into one conv ``Cin + 1 -> O`` whose extra input channel
    is all ones and carries ``fuse``'s bias; zero padding of that channel
    reproduces the zero padding of ``fuse(x)`` exactly. Memory then scales
    with ``Cin`` (Z's channels), not with ``F`` (the head's 256 channels),
    and gradients still reach both convs' weights.
    """
    w_fuse = fuse.weight[:, :, 0, 0]  # (F, Cin)
    w = torch.einsum('ofhw,fi->oihw', conv.weight, w_fuse)
    w_bias = torch.einsum('ofhw,f->ohw', conv.weight, fuse.bias)
    ones = x.new_ones(x.shape[0], 1, *x.shape[2:])
    return F.conv2d(
        torch.cat([x, ones], dim=1),
        torch.cat([w, w_bias[:, None]], dim=1),
        conv.bias,
        stride=conv.stride,
        padding=conv.padding,
        dilation=conv.dilation)


@MODELS.register_module()
class PatchGlobalDetector(HostModel, PatchGDMixin, SingleStageDetector):
    """Object detection on whole high-resolution images (docs/method.md).

    It takes the arguments of mmdet's single-stage detectors (``backbone``,
    ``neck``, ``bbox_head``, ...: an FCOS config only changes ``type``) plus
    those below and:

    * θ1 = backbone + FPN (+ a 1x1 reduction to ``latent_channels``), run on
      one patch; level ``l`` yields a ``(N, d, ph / s_l, pw / s_l)`` map.
    * Z_l = the stitched whole-image level-``l`` map at stride ``s_l`` (a
      512 px patch gives 64x64 at stride 8; an 8x8 grid of them the 512x512
      P3 map of a 4096 px image). G_l = θ1 of the global patch at level
      ``l``, resized onto the image's region of Z_l.
    * θ2 = per level a 1x1 conv over ``concat(Z_l, G_l)`` back to the
      head's ``in_channels``, then the detector's own head on the whole-image
      maps: ``loss_by_feat`` and ``predict_by_feat`` run unchanged with
      whole-image points, strides and boxes.

    With ``towers_in_patch=True`` (FCOS heads) the head's classification
    and regression towers move into θ1: per level Z holds two reduced maps,
    ``cls`` and ``reg``, and θ2 is per level and branch a 1x1 conv over
    ``concat(Z, G)`` to the head's ``feat_channels`` followed by the head's
    own ``conv_cls`` / ``conv_reg`` / ``conv_centerness`` and scales. The 1x1
    and the 3x3 are composed (:func:`conv_after_1x1`), so no whole-image
    map ever has the head's width: memory beyond Z stays flat as the image
    grows. This is the memory trade for 4096 px inputs.

    With ``towers_in_patch=k`` (an int) only the ``k`` finest levels run
    their towers per patch; the coarser levels keep the neck's map in Z and
    run the whole head (towers included) on the stitched map in θ2. A
    256 px patch's P6/P7 maps are 4x4 and 2x2, where the towers see mostly
    patch borders; stitched, those maps are small (1/64 and 1/256 of the
    image's pixels at stride 64 and 128), so the whole-image towers there
    cost little memory and see the large objects whole.

    Boxes that cross patch borders are ordinary whole-image targets.

    Args:
        patch_cfg (dict): PatchGD options, see :class:`PatchGDConfig`.
        latent_channels (int, optional): d, channels of Z; ``None`` keeps the
            neck's channels (no reduction). The main memory knob at 4096 px.
        global_fusion (str, optional): ``'concat'`` (default), ``'add'``,
            ``'gated'`` (``Z + tanh(a) * G``, ``a`` zero at the start) or
            ``None`` (PatchGD without the global patch).
        towers_in_patch (bool | int): run the head's towers in θ1, per patch,
            on every level (True) or on the ``k`` finest levels (an int; see
            above). Defaults to False: the towers run on the whole-image
            maps in θ2.
    """

    host_model_type = 'SingleStageDetector'
    patchgd_args = HostModel.patchgd_args + ('towers_in_patch', )
    host_preprocessors = dict(PatchDetDataPreprocessor='DetDataPreprocessor')

    @classmethod
    def host_model_cfg(cls, cfg: dict) -> dict:
        """mmdet's ``FCOS`` for an FCOS head, else a
        ``SingleStageDetector``."""
        out = super().host_model_cfg(cfg)
        head = str((cfg.get('bbox_head') or {}).get('type', ''))
        if head.startswith('FCOS'):
            out['type'] = 'FCOS'
        return out

    def __init__(self,
                 patch_cfg: Optional[dict] = None,
                 latent_channels: Optional[int] = None,
                 global_fusion: Optional[str] = 'concat',
                 towers_in_patch: Union[bool, int] = False,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        self.init_patchgd(patch_cfg, global_fusion)
        strides = [
            s if isinstance(s, int) else s[0]
            for s in self.bbox_head.prior_generator.strides
        ]
        check_patch_multiple(
            self.patch_cfg.patch_size, max(strides),
            f'the largest stride of the {type(self.bbox_head).__name__} '
            'levels')
        self.num_levels = len(strides)
        self.towers_in_patch = towers_in_patch
        self.patch_tower_levels = self._tower_levels(towers_in_patch)
        if self.patch_tower_levels:
            self._check_tower_head()
        # θ1's output width: the neck's, or the towers' (cls and reg maps)
        head_ch = (self.bbox_head.feat_channels
                   if self.patch_tower_levels else self.bbox_head.in_channels)
        d = latent_channels or head_ch
        self.latent_channels = d
        # [cls, then reg, of the tower levels..., the neck's of the others]
        num_maps = self.num_levels + self.patch_tower_levels
        self.latent_reduce = nn.ModuleList(
            nn.Conv2d(head_ch, d, 1)
            for _ in range(num_maps)) if latent_channels else None
        fused = fused_channels(d, global_fusion)
        self.global_gates = global_gates(global_fusion, num_maps, d)
        # towers_in_patch: [cls per level..., reg per level...]
        self.fusion_convs = nn.ModuleList(
            nn.Conv2d(fused, head_ch, 1) for _ in range(num_maps))

    def _tower_levels(self, towers_in_patch: Union[bool, int]) -> int:
        """How many levels, finest first, run the head's towers in θ1."""
        L = self.num_levels
        k = L if towers_in_patch is True else int(towers_in_patch or 0)
        if not 0 <= k <= L:
            raise ValueError(
                f'towers_in_patch={towers_in_patch!r}: give True (all '
                f'{L} levels), False, or the number of levels, finest '
                f'first, whose towers run per patch (0..{L})')
        head = self.bbox_head
        if 0 < k < L and head.in_channels != head.feat_channels:
            raise ValueError(
                f'towers_in_patch={k} keeps towers per patch on {k} levels '
                f'and on the stitched maps of the others, so Z holds both '
                f'the towers\' and the neck\'s maps: it needs '
                f'bbox_head.in_channels == feat_channels, got '
                f'{head.in_channels} and {head.feat_channels}')
        return k

    def _check_tower_head(self) -> None:
        head = self.bbox_head
        if not isinstance(head, FCOSHead) or (
                type(head).forward_single is not FCOSHead.forward_single):
            raise ValueError(
                f'towers_in_patch=True needs an FCOSHead (θ2 mirrors '
                f'FCOSHead.forward_single after the towers); got '
                f'{type(head).__name__}. Set towers_in_patch=False to run '
                'this head whole on the stitched maps')
        for name in ('conv_cls', 'conv_reg', 'conv_centerness'):
            if type(getattr(head, name)) is not nn.Conv2d:
                raise ValueError(
                    f'towers_in_patch=True needs a plain nn.Conv2d as '
                    f'bbox_head.{name}, got '
                    f'{type(getattr(head, name)).__name__}; set '
                    'towers_in_patch=False for this head')

    # ------------------------------------------------------------------ θ1
    def encode_patches(self, patches: Tensor) -> List[Tensor]:
        """θ1: ``(N, 3, ph, pw)`` -> per level ``(N, d, ph/s_l, pw/s_l)``.

        With ``towers_in_patch`` the list is the cls maps of the tower
        levels (all, or the ``patch_tower_levels`` finest), then their reg
        maps, then the neck's maps of the other levels.
        """
        feats = list(self.extract_feat(patches))
        k = self.patch_tower_levels
        if k:
            head = self.bbox_head
            cls_feats, reg_feats = [], []
            for x in feats[:k]:
                cls_feat, reg_feat = x, x
                for layer in head.cls_convs:
                    cls_feat = layer(cls_feat)
                for layer in head.reg_convs:
                    reg_feat = layer(reg_feat)
                cls_feats.append(cls_feat)
                reg_feats.append(reg_feat)
            feats = cls_feats + reg_feats + feats[k:]
        if self.latent_reduce is not None:
            feats = [r(f) for r, f in zip(self.latent_reduce, feats)]
        return feats

    def patch_encoder_modules(self) -> List[nn.Module]:
        mods = [self.backbone, self.neck]
        if self.patch_tower_levels:
            mods += [self.bbox_head.cls_convs, self.bbox_head.reg_convs]
        return mods + ([self.latent_reduce] if self.latent_reduce else [])

    # ------------------------------------------------------------------ θ2
    def fused_maps(self, latent: LatentBuffer,
                   global_feats: List[Tensor]) -> List[Tensor]:
        """Each map of Z fused with G placed on it, ``(B, d or 2d, H, W)``."""
        return [
            fuse_global(latent.grid, z,
                        global_feats[i] if global_feats else None,
                        self.global_fusion, mask_padding=False,
                        gate=None if self.global_gates is None else
                        self.global_gates[i])
            for i, z in enumerate(latent.maps)
        ]

    def fused_features(self, latent: LatentBuffer,
                       global_feats: List[Tensor]) -> Tuple[Tensor, ...]:
        """θ2 before the head: per level ``(B, C, m*ph/s_l, n*pw/s_l)``."""
        return tuple(
            conv(z) for conv, z in zip(self.fusion_convs,
                                       self.fused_maps(latent, global_feats)))

    def head_outputs(self, latent: LatentBuffer,
                     global_feats: List[Tensor]) -> Tuple[List[Tensor], ...]:
        """θ2: the head's raw outputs on the whole image.

        ``(cls_scores, bbox_preds, centernesses)``, one ``(B, *, H_l, W_l)``
        map per level, as ``FCOSHead.forward`` returns them.
        """
        k = self.patch_tower_levels
        if not k:
            return self.bbox_head(self.fused_features(latent, global_feats))
        # FCOSHead.forward_single after its towers (checked at build time)
        head = self.bbox_head
        maps = self.fused_maps(latent, global_feats)
        fuse = self.fusion_convs
        cls_scores, bbox_preds, centernesses = [], [], []
        for level, (scale, stride) in enumerate(zip(head.scales,
                                                    head.strides)):
            if level >= k:  # the whole head on the stitched map
                x = fuse[k + level](maps[k + level])
                for out, y in zip((cls_scores, bbox_preds, centernesses),
                                  head.forward_single(x, scale, stride)):
                    out.append(y)
                continue
            cls_in, reg_in = maps[level], maps[k + level]
            cls_fuse, reg_fuse = fuse[level], fuse[k + level]
            cls_scores.append(conv_after_1x1(cls_in, cls_fuse, head.conv_cls))
            bbox_pred = conv_after_1x1(reg_in, reg_fuse, head.conv_reg)
            if head.centerness_on_reg:
                centerness = conv_after_1x1(reg_in, reg_fuse,
                                            head.conv_centerness)
            else:
                centerness = conv_after_1x1(cls_in, cls_fuse,
                                            head.conv_centerness)
            bbox_pred = scale(bbox_pred).float()
            if head.norm_on_bbox:
                bbox_pred = bbox_pred.clamp(min=0)
                if not self.training:
                    bbox_pred = bbox_pred * stride
            else:
                bbox_pred = bbox_pred.exp()
            bbox_preds.append(bbox_pred)
            centernesses.append(centerness)
        return cls_scores, bbox_preds, centernesses

    def loss_by_latent(self, latent: LatentBuffer, global_feats: List[Tensor],
                       data_samples: list) -> Dict[str, Tensor]:
        from mmdet.models.utils import unpack_gt_instances
        outs = self.head_outputs(latent, global_feats)
        gt_instances, gt_ignore, img_metas = unpack_gt_instances(
            clip_gt_boxes(data_samples))
        return self.bbox_head.loss_by_feat(*outs, gt_instances, img_metas,
                                           gt_ignore)

    def predict_by_latent(self,
                          latent: LatentBuffer,
                          global_feats: List[Tensor],
                          data_samples: list,
                          rescale: bool = True) -> list:
        outs = self.head_outputs(latent, global_feats)
        results = self.bbox_head.predict_by_feat(
            *outs,
            batch_img_metas=[s.metainfo for s in data_samples],
            rescale=rescale)
        return self.add_pred_to_datasample(data_samples, results)

    # ----------------------------------------------- mmdet entry points
    # ``predict`` is PatchGDMixin's: mmdet's ``rescale`` reaches
    # predict_by_latent through its keyword arguments.

    def _forward(self,
                 batch_inputs: Tensor,
                 batch_data_samples: Optional[list] = None):
        """``mode='tensor'``: the head's raw outputs on the whole image."""
        latent, global_feats = self.encode_image(batch_inputs,
                                                 batch_data_samples)
        return self.head_outputs(latent, global_feats)
