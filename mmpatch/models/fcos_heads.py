"""Two FCOS heads, registered in mmdet's ``MODELS``; each is ``FCOSHead``
with one change and takes its arguments.

``ChunkedTargetFCOSHead``: the targets of a whole image are assigned a
block of points at a time. ``FCOSHead._get_targets_single`` holds a dozen
``(points, boxes)`` tensors at once (up to ``(points, boxes, 4)``): on a
1024 px UltraDigits-scales canvas (21,824 points, ~40 digits) that is ~60
MiB, more than PatchGD's whole step, and on a 4096 px SODA-D image (349,184
points, hundreds of objects) GiBs. A point's target depends on that point
and the boxes only, so assigning ``targets_per_chunk // boxes`` points at a
time gives the same labels and box targets (a test pins it) in bounded
memory. PatchGD's detection configs use it; the stock baselines keep
``FCOSHead``.

``IgnoreFCOSHead``: no classification loss on the background points inside
ignored boxes. mmdet 3.3's ``FCOSHead.loss_by_feat`` receives ``batch_gt_instances_ignore``
and drops it, so an ignored object's region is trained as background. The
crop baseline's SODA-D rule
(:class:`~mmpatch.datasets.det_transforms.RandomCropIgnorePartial`) flags
objects mostly outside a crop as ignored: calling their visible sliver
background would be as wrong as calling it an object. ``IgnoreFCOSHead``
gives those points zero classification weight; everything else (targets,
box and centerness losses, inference) is ``FCOSHead``'s, unchanged, and
with no ignored box its loss is ``FCOSHead``'s exactly.
"""
from typing import Dict, List, Optional, Tuple

import torch
from mmdet.models.dense_heads import FCOSHead
from mmdet.registry import MODELS
from torch import Tensor, nn


@MODELS.register_module()
class ChunkedTargetFCOSHead(FCOSHead):
    """``FCOSHead`` whose target assignment holds at most
    ``targets_per_chunk`` (point, box) pairs at once.

    Args:
        targets_per_chunk (int): pairs per block of points. Defaults to
            2**18 (4 MiB per float ``(points, boxes, 4)`` tensor).
        **kwargs: ``FCOSHead``'s arguments.
    """

    def __init__(self, targets_per_chunk: int = 2**18, **kwargs) -> None:
        super().__init__(**kwargs)
        if targets_per_chunk < 1:
            raise ValueError('ChunkedTargetFCOSHead: targets_per_chunk must '
                             f'be >= 1, got {targets_per_chunk!r}')
        self.targets_per_chunk = targets_per_chunk

    def _get_targets_single(self, gt_instances, points: Tensor,
                            regress_ranges: Tensor,
                            num_points_per_lvl: List[int]
                            ) -> Tuple[Tensor, Tensor]:
        """``(labels (P,), bbox_targets (P, 4))`` of one image, assigned
        ``targets_per_chunk // boxes`` points at a time."""
        step = max(1, self.targets_per_chunk // max(1, len(gt_instances)))
        if points.size(0) <= step:
            return super()._get_targets_single(gt_instances, points,
                                               regress_ranges,
                                               num_points_per_lvl)
        ends = torch.tensor(num_points_per_lvl).cumsum(0).tolist()
        labels, targets = [], []
        for a in range(0, points.size(0), step):
            b = min(a + step, points.size(0))
            # each level's points inside [a, b): centre sampling reads the
            # level (its stride) of every point from these counts
            counts = [max(0, min(b, end) - max(a, end - n))
                      for n, end in zip(num_points_per_lvl, ends)]
            lab, tgt = super()._get_targets_single(
                gt_instances, points[a:b], regress_ranges[a:b], counts)
            labels.append(lab)
            targets.append(tgt)
        return torch.cat(labels), torch.cat(targets)


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
