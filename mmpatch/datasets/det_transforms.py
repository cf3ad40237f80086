"""Crop training for detection under the SODA-D rule, registered in mmdet's
``TRANSFORMS``.

Imported by a config, not by ``mmpatch.datasets`` (which stays free of the
OpenMMLab libraries)::

    custom_imports = dict(imports=['mmpatch.datasets.det_transforms'],
                          allow_failed_imports=False)
    train_pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='LoadAnnotations', with_bbox=True),
        dict(type='RandomCropIgnorePartial', crop_size=(512, 512),
             min_visible=0.4),
        dict(type='PackDetInputs'),
    ]

Why: mmdet's ``RandomCrop`` clips every box to the crop, so a 60 px sliver
of a 700 px object is trained as a whole object. The SODA-D protocol (Cheng
et al., "Towards Large-Scale Small Object Detection", TPAMI 2023) instead
ignores an object whose visible part is at most 40 % of its area: its box
is kept, clipped, with ``gt_ignore_flags`` set, so ``PackDetInputs`` puts it
in ``ignored_instances`` and a head that reads them
(:class:`~mmpatch.models.fcos_heads.IgnoreFCOSHead`) neither calls
its region background nor an object.
"""
from typing import Optional, Tuple

import numpy as np
from mmdet.datasets.transforms import RandomCrop
from mmdet.registry import TRANSFORMS


@TRANSFORMS.register_module()
class RandomCropIgnorePartial(RandomCrop):
    """``RandomCrop`` that ignores objects mostly outside the crop.

    Boxes are clipped to the crop as mmdet does; then a box whose clipped
    area is at most ``min_visible`` of its area before the crop is flagged
    ignored (``gt_ignore_flags``), not dropped and not trained as an object.
    A crop whose only boxes are ignored counts as a crop without objects
    (``allow_negative_crop``).

    Args:
        min_visible (float): the largest visible fraction of a box's area
            that is still ignored. Defaults to 0.4 (SODA-D).
        **kwargs: ``RandomCrop``'s arguments; ``bbox_clip_border`` must
            stay True (a visible fraction needs the clipped box).

    Required keys: ``img``, ``gt_bboxes`` (optional), ``gt_ignore_flags``
    (optional; created when absent). Modified keys: those of
    ``RandomCrop`` and ``gt_ignore_flags``.
    """

    def __init__(self, min_visible: float = 0.4, **kwargs) -> None:
        super().__init__(**kwargs)
        if not 0.0 <= min_visible < 1.0:
            raise ValueError(
                f'RandomCropIgnorePartial: min_visible must be in [0, 1), '
                f'got {min_visible!r} (0.4 is the SODA-D rule)')
        if not self.bbox_clip_border:
            raise ValueError(
                'RandomCropIgnorePartial needs bbox_clip_border=True: the '
                'visible fraction of a box is its clipped area over its '
                'area; remove bbox_clip_border from the transform')
        self.min_visible = min_visible

    def _crop_data(self, results: dict, crop_size: Tuple[int, int],
                   allow_negative_crop: bool) -> Optional[dict]:
        boxes = results.get('gt_bboxes', None)
        if boxes is None or len(boxes) == 0:
            return super()._crop_data(results, crop_size, allow_negative_crop)
        areas = boxes.areas.numpy().copy()
        ignored = results.get('gt_ignore_flags',
                              np.zeros(len(boxes), dtype=bool))
        # RandomCrop filters 'gt_instances_ids' with the boxes it keeps:
        # the box numbers ride along in it to find each kept box's area
        ids = results.pop('gt_instances_ids', None)
        results['gt_instances_ids'] = np.arange(len(boxes))
        results['gt_ignore_flags'] = ignored
        out = super()._crop_data(results, crop_size, True)
        kept = out.pop('gt_instances_ids')
        if ids is not None:
            out['gt_instances_ids'] = ids[kept]
        visible = out['gt_bboxes'].areas.numpy() / np.maximum(
            areas[kept], 1e-6)
        out['gt_ignore_flags'] = (np.asarray(out['gt_ignore_flags'], bool)
                                  | (visible <= self.min_visible))
        if not allow_negative_crop and out['gt_ignore_flags'].all():
            return None
        return out

    def __repr__(self) -> str:
        return (super().__repr__()[:-1] +
                f', min_visible={self.min_visible})')
