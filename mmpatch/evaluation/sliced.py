"""Sliced inference of a stock mmdet detector on a whole canvas: the
windows, each slice's prediction and the merge.

The crop-trained baseline of the UltraDigits-scales comparison (issue #20)
never sees a whole canvas; at test time it runs on overlapping slices of the
crop side and the boxes are merged, as SAHI and the SODA-D protocol do:

* windows: SAHI's ``sahi.slicing.get_slice_bboxes`` (slice = crop side,
  overlap 0.25 by default; the last row and column are shifted inward so
  every window lies inside the canvas);
* each slice: the model's own ``test_step`` on the canvas's pixels as the
  test pipeline loaded them (BGR, uint8, no resize: a pipeline that resized
  the canvas, as SAHI's mmdet wrapper does with a slice unless told the
  slice size, is refused), with the config's ``test_cfg`` (its score
  threshold, not SAHI's 0.3 default);
* optionally the whole canvas too (SAHI's ``perform_standard_pred``), its
  boxes merged with the slices';
* merge: ``'nms'``, mmdet's ``mmdet.utils.large_image.merge_results_by_nms``
  (the boxes shifted by ``shift_predictions``, class-aware NMS with the
  model's ``test_cfg.nms``), or ``'greedynmm'``, SAHI's default
  ``GreedyNMMPostprocess`` (class-aware; a box that overlaps a better one
  by ``match_threshold`` of ``match_metric``, IOS by default, is merged
  into it: union box, the better score); then the model's ``max_per_img``
  best boxes, the cap whole-image inference has.

The model-level wrapper that runs this in ``test_step`` (so in mmengine's
val and test loops and the inferencers) is
:class:`~mmpatch.evaluation.sliced_detector.SlicedDetector`. Scoring a
split offline as mmengine's test loop does is
``tools/analysis_tools/sliced_eval.py``.
"""
from typing import List, Optional, Tuple

import torch

Window = Tuple[int, int, int, int]


def slice_windows(height: int, width: int, slice_size: Optional[int],
                  overlap: float = 0.25) -> List[Window]:
    """``(x0, y0, x1, y1)`` windows of side ``slice_size`` (SAHI's
    ``get_slice_bboxes``); the whole canvas for None or a slice at least as
    large as the canvas."""
    if slice_size is None or (slice_size >= height and slice_size >= width):
        return [(0, 0, width, height)]
    from sahi.slicing import get_slice_bboxes
    return [tuple(int(v) for v in b) for b in get_slice_bboxes(
        image_height=height, image_width=width,
        slice_height=min(slice_size, height),
        slice_width=min(slice_size, width), overlap_height_ratio=overlap,
        overlap_width_ratio=overlap)]


def forward_windows(height: int, width: int, slice_size: Optional[int],
                    overlap: float = 0.25, whole_image: bool = False
                    ) -> Tuple[List[Window], List[Window]]:
    """The windows the detector is run on: ``(slices, whole)``, ``whole``
    the whole canvas when ``whole_image`` asks and no slice is it already
    (else empty)."""
    windows = slice_windows(height, width, slice_size, overlap)
    whole = (0, 0, width, height)
    return windows, [whole] if whole_image and windows != [whole] else []


def _check_native(meta: dict) -> None:
    shape = tuple(meta['img_shape'][:2])
    factor = tuple(float(f) for f in meta.get('scale_factor', (1.0, 1.0)))
    if shape != tuple(meta['ori_shape'][:2]) or factor != (1.0, 1.0):
        raise ValueError(
            f'sliced inference needs the canvas at its stored size, but the '
            f'test pipeline resized {tuple(meta["ori_shape"][:2])} to {shape} '
            f'(scale_factor {factor}); give the config a test pipeline '
            "without a resize (or dict(type='Resize', scale_factor=1.0))")


MERGES = ('nms', 'greedynmm')


def predict_sliced(model, inputs: torch.Tensor, data_sample,
                   slice_size: Optional[int], overlap: float = 0.25,
                   batch_size: int = 4, merge: str = 'nms',
                   whole_image: bool = False, match_metric: str = 'IOS',
                   match_threshold: float = 0.5,
                   max_per_img: Optional[int] = None):
    """One canvas's predictions by sliced inference.

    Args:
        model: an mmdet detector in eval mode.
        inputs: ``(3, H, W)`` uint8, the canvas as the test pipeline packed
            it (not resized).
        data_sample: its ``DetDataSample`` (metadata only is used).
        slice_size: slice side; None: the whole canvas as one slice.
        overlap: overlap ratio of neighbouring slices.
        batch_size: slices per ``test_step`` (SAHI runs one at a time).
        merge: ``'nms'`` or ``'greedynmm'`` (see the module docstring).
        whole_image: also predict on the whole canvas and merge its boxes.
        match_metric, match_threshold: ``'greedynmm'``'s overlap test.
        max_per_img: boxes kept after the merge; None: the model's
            ``test_cfg.max_per_img``.

    Returns:
        DetDataSample: the canvas's metadata with ``pred_instances`` in
        canvas coordinates.
    """
    from mmdet.structures import DetDataSample
    from mmdet.utils.large_image import merge_results_by_nms
    if merge not in MERGES:
        raise ValueError(f'sliced inference: merge must be one of {MERGES}, '
                         f'got {merge!r}')
    meta = dict(data_sample.metainfo)
    _check_native(meta)
    height, width = inputs.shape[-2:]
    windows, whole = forward_windows(height, width, slice_size, overlap,
                                     whole_image)
    # slices of one size per batch: a batch pads its images to the largest,
    # and GroupNorm heads read the padding (the whole canvas goes alone)
    chunks = [windows[i:i + batch_size]
              for i in range(0, len(windows), batch_size)]
    if whole:
        chunks.append(whole)
    results, offsets = [], []
    for chunk in chunks:
        samples = [
            DetDataSample(metainfo=dict(
                meta, img_shape=(y1 - y0, x1 - x0),
                ori_shape=(y1 - y0, x1 - x0), scale_factor=(1.0, 1.0),
                slice_window=(x0, y0, x1, y1)))
            for x0, y0, x1, y1 in chunk
        ]
        with torch.no_grad():
            results += model.test_step(dict(
                inputs=[inputs[:, y0:y1, x0:x1] for x0, y0, x1, y1 in chunk],
                data_samples=samples))
        offsets += [(x0, y0) for x0, y0, _, _ in chunk]
    test_cfg = model.bbox_head.test_cfg
    # slices without a box are left out: SAHI's shift_bboxes (which
    # shift_predictions calls) turns an empty (0, 4) tensor into (0, )
    kept = [(r, o) for r, o in zip(results, offsets)
            if len(r.pred_instances)]
    if not kept:
        merged = results[0].pred_instances
    elif merge == 'nms':
        merged = merge_results_by_nms([r for r, _ in kept],
                                      [o for _, o in kept], (height, width),
                                      nms_cfg=test_cfg['nms']).pred_instances
    else:
        merged = merge_greedy_nmm(kept, (height, width), match_metric,
                                  match_threshold)
    cap = test_cfg.get('max_per_img', -1) if max_per_img is None \
        else max_per_img
    if 0 < cap < len(merged):
        merged = merged[merged.scores.argsort(descending=True)[:cap]]
    out = DetDataSample(metainfo=meta)
    out.pred_instances = merged
    return out



def merge_greedy_nmm(kept: list, shape: Tuple[int, int], match_metric: str,
                     match_threshold: float):
    """SAHI's ``GreedyNMMPostprocess`` (class-aware) over ``(result,
    (dx, dy))`` pairs of slice predictions; an ``InstanceData`` of boxes
    in canvas coordinates, best score first."""
    from mmengine.structures import InstanceData
    from sahi.postprocess.combine import GreedyNMMPostprocess
    from sahi.prediction import ObjectPrediction
    preds = []
    for result, (dx, dy) in kept:
        inst = result.pred_instances
        for box, score, label in zip(inst.bboxes.tolist(),
                                     inst.scores.tolist(),
                                     inst.labels.tolist()):
            preds.append(ObjectPrediction(
                bbox=[box[0] + dx, box[1] + dy, box[2] + dx, box[3] + dy],
                category_id=int(label), score=float(score),
                full_shape=list(shape)))
    merged = GreedyNMMPostprocess(match_threshold=match_threshold,
                                  match_metric=match_metric,
                                  class_agnostic=False)(preds)
    merged.sort(key=lambda p: -p.score.value)
    ref = kept[0][0].pred_instances.bboxes
    return InstanceData(
        bboxes=ref.new_tensor([p.bbox.to_xyxy() for p in merged]).view(-1, 4),
        scores=ref.new_tensor([p.score.value for p in merged]),
        labels=torch.tensor([p.category.id for p in merged],
                            dtype=torch.long, device=ref.device))
