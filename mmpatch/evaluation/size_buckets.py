"""COCO AP by size bucket of the longer box side (mmdet's ``CocoMetric``).

COCO's small/medium/large split at 32² and 96² px of area says nothing about
what a method can see. The UltraDigits-scales comparison (issue #20) names
its buckets after the baselines instead (:func:`bucket_edges`):

* ``tiny``: objects whose longer side is below ``resolvable_px`` (8 px)
  once the canvas is downsampled to the downsampled baseline's side S_d;
* ``huge``: objects whose longer side exceeds the crop baseline's side S_c,
  so that no training crop or inference slice holds them whole;
* ``medium``: the rest.

:class:`SizeBucketCocoMetric` is mmdet's ``CocoMetric`` (same results json,
same AP/AP50, the same numbers as mmengine's test loop) plus
``bbox_AP_{bucket}``, ``bbox_AP50_{bucket}`` and ``bbox_n_{bucket}`` (ground
truths in the bucket), computed by :func:`bucket_ap` from the results json
it wrote: pycocotools' ``COCOeval`` with one area range per bucket, where a
box's "area" is its longer side squared (ground truths and detections alike;
COCOeval only filters by area, so this makes the buckets exact in the longer
side). A config selects it with
``custom_imports=dict(imports=['mmpatch.evaluation.size_buckets'])``.
"""
import copy
import json
import os.path as osp
import tempfile
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

Buckets = Dict[str, Tuple[float, float]]


def bucket_edges(canvas_side: int, s_d: int, s_c: int,
                 resolvable_px: float = 8.0) -> Buckets:
    """``tiny`` / ``medium`` / ``huge`` ranges of the longer box side (px of
    the canvas, lower edge inclusive) from the baselines' sizes: tiny is
    below ``resolvable_px`` after downsampling ``canvas_side`` to ``s_d``,
    huge is longer than the crop side ``s_c``."""
    tiny = resolvable_px * canvas_side / s_d
    if not tiny < s_c:
        raise ValueError(f'no medium bucket: tiny edge {tiny:.1f} px >= the '
                         f'crop side {s_c} px')
    return dict(tiny=(0.0, round(tiny, 2)), medium=(round(tiny, 2),
                                                    float(s_c)),
                huge=(float(s_c), 1e5))


def _longer_side_area(anns: List[dict]) -> None:
    for ann in anns:
        ann['area'] = float(max(ann['bbox'][2], ann['bbox'][3]))**2


def bucket_ap(gt: dict,
              detections: Sequence[dict],
              buckets: Buckets,
              cat_ids: Optional[Sequence[int]] = None,
              img_ids: Optional[Sequence[int]] = None,
              max_dets: Sequence[int] = (100, 300, 1000)) -> Dict[str, float]:
    """AP (IoU .50:.95), AP50 and the number of ground truths per bucket.

    Args:
        gt: a COCO ground-truth dict (as loaded from its json).
        detections: COCO results (``image_id``, ``category_id``, ``bbox``
            ``[x, y, w, h]``, ``score``).
        buckets: name -> ``(lo, hi)`` of the longer box side, px.
        cat_ids, img_ids: restrict as ``CocoMetric`` does (default: all).
        max_dets: ``COCOeval``'s maxDets (``CocoMetric``'s
            ``proposal_nums``); the last one is used, as ``CocoMetric``'s AP.

    Returns:
        dict: ``AP_{name}``, ``AP50_{name}`` (-1 where a bucket has no
        ground truth, as COCOeval) and ``n_{name}``.
    """
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval
    gt = copy.deepcopy(gt)
    _longer_side_area(gt['annotations'])
    coco_gt = COCO()
    coco_gt.dataset = gt
    coco_gt.createIndex()
    names = list(buckets)
    out: Dict[str, float] = {}
    for name in names:
        lo, hi = buckets[name]
        out[f'n_{name}'] = float(sum(
            1 for a in gt['annotations'] if not a.get('iscrowd', 0)
            and (img_ids is None or a['image_id'] in img_ids)
            and lo**2 <= a['area'] < hi**2))
    if not detections:
        out.update({f'{k}_{n}': 0.0 for n in names for k in ('AP', 'AP50')})
        return out
    coco_dt = coco_gt.loadRes(copy.deepcopy(list(detections)))
    _longer_side_area(coco_dt.dataset['annotations'])
    ev = COCOeval(coco_gt, coco_dt, 'bbox')
    if cat_ids is not None:
        ev.params.catIds = list(cat_ids)
    if img_ids is not None:
        ev.params.imgIds = list(img_ids)
    ev.params.maxDets = list(max_dets)
    ev.params.areaRng = [[float(lo)**2, float(hi)**2]
                         for lo, hi in buckets.values()]
    ev.params.areaRngLbl = names
    ev.evaluate()
    ev.accumulate()
    precision = ev.eval['precision']  # (iou, recall, cls, area, maxdet)
    for a, name in enumerate(names):
        for key, p in (('AP', precision[:, :, :, a, -1]),
                       ('AP50', precision[0, :, :, a, -1])):
            p = p[p > -1]
            out[f'{key}_{name}'] = float(np.mean(p)) if p.size else -1.0
    return out


def _register():
    from mmdet.evaluation import CocoMetric
    from mmdet.registry import METRICS

    @METRICS.register_module(force=True)
    class SizeBucketCocoMetric(CocoMetric):
        """mmdet's ``CocoMetric`` plus AP per size bucket (module docs).

        Args:
            buckets (dict): name -> ``(lo, hi)`` of the longer box side in
                pixels of the original image (:func:`bucket_edges`).
            **kwargs: ``CocoMetric``'s arguments; only ``metric='bbox'``.
        """

        def __init__(self, buckets: Buckets, **kwargs) -> None:
            super().__init__(**kwargs)
            if self.metrics != ['bbox']:
                raise ValueError('SizeBucketCocoMetric scores boxes only '
                                 f"(metric='bbox'), got {self.metrics}")
            self.buckets = {k: (float(v[0]), float(v[1]))
                            for k, v in dict(buckets).items()}

        def compute_metrics(self, results: list) -> Dict[str, float]:
            prefix = self.outfile_prefix
            tmp = None
            if prefix is None:
                tmp = tempfile.TemporaryDirectory()
                self.outfile_prefix = osp.join(tmp.name, 'results')
            try:
                out = super().compute_metrics(results)
                if self.format_only:
                    return out
                if 'bbox_mAP' not in out:  # no detections at all
                    out.update({f'bbox_{k}': 0.0 for k in (
                        'mAP', 'mAP_50', 'mAP_75', 'mAP_s', 'mAP_m',
                        'mAP_l')})
                with open(f'{self.outfile_prefix}.bbox.json') as f:
                    dets = json.load(f)
                scores = bucket_ap(self._coco_api.dataset, dets, self.buckets,
                                   self.cat_ids, self.img_ids,
                                   self.proposal_nums)
            finally:
                self.outfile_prefix = prefix
                if tmp is not None:
                    tmp.cleanup()
            out.update({f'bbox_{k}': round(v, 4) for k, v in scores.items()})
            return out

    return SizeBucketCocoMetric


SizeBucketCocoMetric = _register()
