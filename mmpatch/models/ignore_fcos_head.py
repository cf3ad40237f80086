"""mmdet's FCOS head with ignored boxes: no classification loss on the
background points inside them.

mmdet 3.3's ``FCOSHead.loss_by_feat`` receives ``batch_gt_instances_ignore``
and drops it, so an ignored object's region is trained as background. The
crop baseline's SODA-D rule
(:class:`~mmpatch.datasets.det_transforms.RandomCropIgnorePartial`) flags
objects mostly outside a crop as ignored: calling their visible sliver
background would be as wrong as calling it an object. ``IgnoreFCOSHead``
gives those points zero classification weight; everything else (targets,
box and centerness losses, inference) is ``FCOSHead``'s, unchanged, and
with no ignored box its loss is ``FCOSHead``'s exactly.
"""
from typing import Dict, List, Optional

import torch
from mmdet.models.dense_heads import FCOSHead
from mmdet.registry import MODELS
from torch import Tensor, nn


class _WeightedClsLoss(nn.Module):
    """``loss_cls`` with a per-point weight on background points: ``(P,)``
    weights in the flattened order of ``FCOSHead.loss_by_feat``."""

    def __init__(self, loss: nn.Module, background_weight: Tensor,
                 num_classes: int) -> None:
        super().__init__()
        self.loss = loss
        self.background_weight = background_weight
        self.num_classes = num_classes

    def forward(self, pred: Tensor, target: Tensor, **kwargs) -> Tensor:
        weight = torch.where(target < self.num_classes,
                             torch.ones_like(self.background_weight),
                             self.background_weight)
        return self.loss(pred, target, weight=weight, **kwargs)


@MODELS.register_module()
class IgnoreFCOSHead(FCOSHead):
    """``FCOSHead`` whose classification loss skips the background points
    inside ignored boxes (``batch_gt_instances_ignore``). Same arguments."""

    def loss_by_feat(self,
                     cls_scores: List[Tensor],
                     bbox_preds: List[Tensor],
                     centernesses: List[Tensor],
                     batch_gt_instances: list,
                     batch_img_metas: List[dict],
                     batch_gt_instances_ignore: Optional[list] = None
                     ) -> Dict[str, Tensor]:
        args = (cls_scores, bbox_preds, centernesses, batch_gt_instances,
                batch_img_metas, batch_gt_instances_ignore)
        if not batch_gt_instances_ignore or not any(
                len(g) for g in batch_gt_instances_ignore):
            return super().loss_by_feat(*args)
        weight = self.background_weight(cls_scores, batch_gt_instances_ignore)
        loss_cls = self.loss_cls
        # FCOSHead.loss_by_feat calls self.loss_cls without a weight: lend
        # it a weighted one for this call
        self._modules['loss_cls'] = _WeightedClsLoss(loss_cls, weight,
                                                     self.num_classes)
        try:
            return super().loss_by_feat(*args)
        finally:
            self._modules['loss_cls'] = loss_cls

    def background_weight(self, cls_scores: List[Tensor],
                          batch_gt_instances_ignore: list) -> Tensor:
        """``(P,)``: 0 at points inside an ignored box, else 1, in the
        order of the flattened scores (per level, image-major)."""
        sizes = [s.shape[-2:] for s in cls_scores]
        points = self.prior_generator.grid_priors(
            sizes, dtype=cls_scores[0].dtype, device=cls_scores[0].device)
        out = []
        for level_points in points:  # (HW, 2) as (x, y)
            for ignore in batch_gt_instances_ignore:
                boxes = ignore.bboxes.to(level_points)  # (k, 4)
                x, y = level_points[:, :1], level_points[:, 1:]
                inside = ((x >= boxes[:, 0]) & (x <= boxes[:, 2])
                          & (y >= boxes[:, 1]) & (y <= boxes[:, 3]))
                out.append(1.0 - inside.any(dim=1).to(level_points.dtype))
        return torch.cat(out)
