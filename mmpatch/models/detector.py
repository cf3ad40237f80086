"""PatchGlobalDetector: PatchGD + global patch around mmdet's FCOS."""
from typing import Dict, List, Optional, Tuple

import torch
from mmdet.models.detectors import SingleStageDetector
from mmdet.registry import MODELS
from torch import Tensor, nn

from mmpatch.engine import LatentBuffer, PatchGDMixin, PatchGrid
from .fusion import check_fusion, fuse_maps


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


@MODELS.register_module()
class PatchGlobalDetector(PatchGDMixin, SingleStageDetector):
    """Object detection on whole high-resolution images (design.md §3).

    It takes the arguments of mmdet's single-stage detectors (so an FCOS
    config only changes ``type``) plus:

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

    Boxes that cross patch borders are ordinary whole-image targets.

    Args:
        patch_cfg (dict): PatchGD options, see :class:`PatchGDConfig`.
        latent_channels (int, optional): d, channels of Z; ``None`` keeps the
            neck's channels (no reduction). The main memory knob at 4096 px.
        global_fusion (str, optional): ``'concat'`` (default), ``'add'`` or
            ``None`` (PatchGD without the global patch).
    """

    def __init__(self,
                 backbone: dict,
                 neck: dict,
                 bbox_head: dict,
                 train_cfg: Optional[dict] = None,
                 test_cfg: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None,
                 patch_cfg: Optional[dict] = None,
                 latent_channels: Optional[int] = None,
                 global_fusion: Optional[str] = 'concat') -> None:
        super().__init__(
            backbone=backbone,
            neck=neck,
            bbox_head=bbox_head,
            train_cfg=train_cfg,
            test_cfg=test_cfg,
            data_preprocessor=data_preprocessor,
            init_cfg=init_cfg)
        self.init_patchgd(patch_cfg)
        self.global_fusion = check_fusion(global_fusion)
        strides = [
            s if isinstance(s, int) else s[0]
            for s in self.bbox_head.prior_generator.strides
        ]
        self._check_patch_size(max(strides))
        neck_ch = self.bbox_head.in_channels
        d = latent_channels or neck_ch
        self.latent_channels = d
        num_levels = len(strides)
        self.latent_reduce = nn.ModuleList(
            nn.Conv2d(neck_ch, d, 1)
            for _ in range(num_levels)) if latent_channels else None
        fused = d * (2 if global_fusion == 'concat' else 1)
        self.fusion_convs = nn.ModuleList(
            nn.Conv2d(fused, neck_ch, 1) for _ in range(num_levels))

    def _check_patch_size(self, divisor: int) -> None:
        ph, pw = self.patch_cfg.patch_size
        if ph % divisor or pw % divisor:
            raise ValueError(
                f'patch_cfg.patch_size={self.patch_cfg.patch_size} is not a '
                f'multiple of {divisor}, the largest stride of the '
                f'{type(self.bbox_head).__name__} levels; per-patch maps '
                'would not tile the whole-image maps. Use e.g. '
                f'{max(divisor, round(ph / divisor) * divisor)}')

    # ------------------------------------------------------------------ θ1
    def encode_patches(self, patches: Tensor) -> List[Tensor]:
        """θ1: ``(N, 3, ph, pw)`` -> per level ``(N, d, ph/s_l, pw/s_l)``."""
        feats = list(self.extract_feat(patches))
        if self.latent_reduce is not None:
            feats = [r(f) for r, f in zip(self.latent_reduce, feats)]
        return feats

    def patch_encoder_modules(self) -> List[nn.Module]:
        mods = [self.backbone, self.neck]
        return mods + ([self.latent_reduce] if self.latent_reduce else [])

    @property
    def uses_global_patch(self) -> bool:
        return self.global_fusion is not None

    # ------------------------------------------------------------------ θ2
    def fused_features(self, latent: LatentBuffer,
                       global_feats: List[Tensor]) -> Tuple[Tensor, ...]:
        """θ2 before the head: per level ``(B, C, m*ph/s_l, n*pw/s_l)``."""
        grid: PatchGrid = latent.grid
        out = []
        for level, (z, conv) in enumerate(zip(latent.maps,
                                              self.fusion_convs)):
            if global_feats:
                g = grid.place_global(global_feats[level], z.shape[-2:])
                z = fuse_maps(z, g, self.global_fusion)
            out.append(conv(z))
        return tuple(out)

    def loss_by_latent(self, latent: LatentBuffer, global_feats: List[Tensor],
                       data_samples: list) -> Dict[str, Tensor]:
        return self.bbox_head.loss(
            self.fused_features(latent, global_feats),
            clip_gt_boxes(data_samples))

    def predict_by_latent(self,
                          latent: LatentBuffer,
                          global_feats: List[Tensor],
                          data_samples: list,
                          rescale: bool = True) -> list:
        results = self.bbox_head.predict(
            self.fused_features(latent, global_feats),
            data_samples,
            rescale=rescale)
        return self.add_pred_to_datasample(data_samples, results)

    # ----------------------------------------------- mmdet entry points
    def predict(self,
                batch_inputs: Tensor,
                batch_data_samples: list,
                rescale: bool = True) -> list:
        latent, global_feats = self.encode_image(batch_inputs,
                                                 batch_data_samples)
        return self.predict_by_latent(latent, global_feats,
                                      batch_data_samples, rescale)

    def _forward(self,
                 batch_inputs: Tensor,
                 batch_data_samples: Optional[list] = None):
        """``mode='tensor'``: the head's raw outputs on the whole image."""
        latent, global_feats = self.encode_image(batch_inputs,
                                                 batch_data_samples)
        return self.bbox_head.forward(
            self.fused_features(latent, global_feats))
