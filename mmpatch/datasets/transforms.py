"""Data checks for mmseg pipelines, registered in mmseg's ``TRANSFORMS``.

Imported by a config, not by ``mmpatch.datasets`` (which stays free of the
OpenMMLab libraries)::

    custom_imports = dict(
        imports=['mmpatch.models.segmentor', 'mmpatch.datasets.transforms'],
        allow_failed_imports=False)
    train_pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='LoadAnnotations'),
        dict(type='CheckSegMapSize'),   # right after LoadAnnotations
        ...
    ]

Why: mmseg 1.2.2 never compares a mask's size with its image's. ``Resize``
rescales both by the same factor, ``SegDataPreProcessor`` pads both by the
same amount, and the decode head's ``loss_by_feat`` resizes the logits to the
mask's size, so a mask of another size trains silently on misaligned labels
(see docs/reliability.md). This check turns that into a clear error.
"""
from typing import Optional, Tuple

from mmcv.transforms import BaseTransform
from mmseg.registry import TRANSFORMS


@TRANSFORMS.register_module()
class CheckSegMapSize(BaseTransform):
    """Raise a clear error when ``gt_seg_map`` and the image differ in size.

    Place it right after ``LoadAnnotations``. The mask must have the size of
    the current image (``img``, or ``img_shape`` without it) or of the
    original image (``ori_shape``: test pipelines load masks after
    ``Resize`` so that metrics use the original size). Results without a
    mask pass unchanged.

    Required keys: ``gt_seg_map`` (optional), ``img`` or ``img_shape``.
    Optional keys: ``ori_shape``, ``img_path``, ``seg_map_path``.
    """

    def transform(self, results: dict) -> dict:
        seg = results.get('gt_seg_map', None)
        if seg is None:
            return results
        mask_hw = tuple(int(s) for s in seg.shape[:2])
        img = results.get('img', None)
        img_hw: Optional[Tuple[int, ...]] = (
            tuple(img.shape[:2]) if img is not None else
            _hw(results.get('img_shape')))
        ori_hw = _hw(results.get('ori_shape'))
        if mask_hw in (img_hw, ori_hw):
            return results
        raise ValueError(
            f'the segmentation mask {results.get("seg_map_path", "?")} is '
            f'{mask_hw[0]}x{mask_hw[1]} pixels but its image '
            f'{results.get("img_path", "?")} is {_fmt(ori_hw)}'
            + (f' (resized to {_fmt(img_hw)})'
               if img_hw not in (None, ori_hw) else '')
            + '; a mask must have its image\'s size (mmseg would resize the '
            'predictions to the mask and train on misaligned labels). Fix '
            'or remove this sample.')

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}()'


def _hw(shape) -> Optional[Tuple[int, int]]:
    return None if shape is None else (int(shape[0]), int(shape[1]))


def _fmt(hw) -> str:
    return '?' if hw is None else f'{hw[0]}x{hw[1]}'
