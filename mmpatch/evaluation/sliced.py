"""Sliced inference of a stock mmdet detector on whole canvases, scored as
mmengine's test loop scores whole-image inference.

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
* merge: mmdet's ``mmdet.utils.large_image.merge_results_by_nms`` (the boxes
  shifted by ``shift_predictions``, class-aware NMS with the model's
  ``test_cfg.nms``: always NMS, no switch to another merge), then the
  model's ``max_per_img`` best boxes, the cap whole-image inference has;
* scoring: the config's test (or val) evaluator, e.g. mmdet's
  ``CocoMetric``, fed exactly as ``mmengine.runner.TestLoop`` feeds it; its
  ``outfile_prefix`` writes the COCO results json.

With one slice that covers the canvas, :func:`evaluate_detector` gives
mmengine's test loop's numbers (``tests/test_evaluation``). Whole-image
inference (``slice_size=None``) runs through the same loop, so inference
times per canvas compare.
"""
import time
from typing import Dict, List, Optional, Sequence, Tuple

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


def _check_native(meta: dict) -> None:
    shape = tuple(meta['img_shape'][:2])
    factor = tuple(float(f) for f in meta.get('scale_factor', (1.0, 1.0)))
    if shape != tuple(meta['ori_shape'][:2]) or factor != (1.0, 1.0):
        raise ValueError(
            f'sliced inference needs the canvas at its stored size, but the '
            f'test pipeline resized {tuple(meta["ori_shape"][:2])} to {shape} '
            f'(scale_factor {factor}); give the config a test pipeline '
            "without a resize (or dict(type='Resize', scale_factor=1.0))")


def predict_sliced(model, inputs: torch.Tensor, data_sample,
                   slice_size: Optional[int], overlap: float = 0.25,
                   batch_size: int = 4):
    """One canvas's predictions by sliced inference.

    Args:
        model: an mmdet detector in eval mode.
        inputs: ``(3, H, W)`` uint8, the canvas as the test pipeline packed
            it (not resized).
        data_sample: its ``DetDataSample`` (metadata only is used).
        slice_size: slice side; None: the whole canvas as one slice.
        overlap: overlap ratio of neighbouring slices.
        batch_size: slices per ``test_step``.

    Returns:
        DetDataSample: the canvas's metadata with ``pred_instances`` in
        canvas coordinates.
    """
    from mmdet.structures import DetDataSample
    from mmdet.utils.large_image import merge_results_by_nms
    meta = dict(data_sample.metainfo)
    _check_native(meta)
    height, width = inputs.shape[-2:]
    windows = slice_windows(height, width, slice_size, overlap)
    results, offsets = [], []
    for i in range(0, len(windows), batch_size):
        chunk = windows[i:i + batch_size]
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
    if kept:
        merged = merge_results_by_nms([r for r, _ in kept],
                                      [o for _, o in kept], (height, width),
                                      nms_cfg=test_cfg['nms']).pred_instances
    else:
        merged = results[0].pred_instances
    cap = test_cfg.get('max_per_img', -1)
    if 0 < cap < len(merged):
        merged = merged[merged.scores.argsort(descending=True)[:cap]]
    out = DetDataSample(metainfo=meta)
    out.pred_instances = merged
    return out


def build_split(cfg, split: str):
    """The dataset and evaluator of ``split`` ('val' or 'test') of a
    config, as mmengine's runner builds them (default scope entered)."""
    from mmengine.evaluator import Evaluator
    from mmengine.registry import DATASETS
    loader = cfg.get(f'{split}_dataloader')
    dataset = DATASETS.build(loader.dataset)
    evaluator = Evaluator(cfg.get(f'{split}_evaluator'))
    evaluator.dataset_meta = dataset.metainfo
    return dataset, evaluator


def load_config(config, cfg_options: Optional[Dict] = None):
    """A Config with its custom imports done and mmdet's scope entered."""
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmengine.utils import import_modules_from_strings
    cfg = Config.fromfile(config) if isinstance(config, str) else config
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    if cfg.get('custom_imports'):
        import_modules_from_strings(**cfg.custom_imports)
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    return cfg


def build_model(cfg, checkpoint: Optional[str] = None):
    """The config's model in eval mode, with ``checkpoint``'s weights (or
    its ``init_cfg``'s when None)."""
    from mmdet.registry import MODELS
    from mmengine.runner import load_checkpoint
    model = MODELS.build(cfg.model)
    if checkpoint:
        load_checkpoint(model, checkpoint, map_location='cpu',
                        logger='silent')
    else:
        model.init_weights()
    return model.eval()


def evaluate_detector(cfg,
                      model,
                      split: str = 'test',
                      slice_size: Optional[int] = None,
                      sliced: bool = False,
                      overlap: float = 0.25,
                      outfile_prefix: Optional[str] = None,
                      max_images: Optional[int] = None,
                      batch_size: int = 4) -> Dict:
    """Score ``model`` on a split of ``cfg``, whole-image or sliced.

    Args:
        cfg: a config from :func:`load_config`.
        model: from :func:`build_model`.
        split: 'val' or 'test'.
        slice_size, sliced: with ``sliced`` each canvas is predicted by
            :func:`predict_sliced` (``slice_size`` None: one slice, the
            whole canvas); otherwise by the model's ``test_step`` on the
            test pipeline's image, as mmengine's ``TestLoop`` does.
        overlap, batch_size: see :func:`predict_sliced`.
        outfile_prefix: where the evaluator writes ``PREFIX.bbox.json``
            (the COCO results json).
        max_images: score only the first images (smoke runs).

    Returns:
        dict: ``metrics`` (the evaluator's), ``infer_s`` (model seconds per
        canvas, loading excluded), ``num_images``, ``slices`` (per canvas).
    """
    from mmengine.dataset import pseudo_collate
    ev_key = f'{split}_evaluator'
    if outfile_prefix is not None:
        for metric in (cfg[ev_key] if isinstance(cfg[ev_key], list)
                       else [cfg[ev_key]]):
            metric['outfile_prefix'] = outfile_prefix
    dataset, evaluator = build_split(cfg, split)
    num = len(dataset) if max_images is None else min(max_images,
                                                      len(dataset))
    if num < len(dataset):  # score the images seen, not the whole file's
        ids = [dataset.get_data_info(i)['img_id'] for i in range(num)]
        for metric in evaluator.metrics:
            if hasattr(metric, 'img_ids'):
                metric.img_ids = ids
    seconds, slices = 0.0, 0
    for idx in range(num):
        batch = pseudo_collate([dataset[idx]])
        t0 = time.perf_counter()
        if sliced:
            inputs = batch['inputs'][0]
            outputs = [predict_sliced(model, inputs, batch['data_samples'][0],
                                      slice_size, overlap, batch_size)]
            slices += len(slice_windows(*inputs.shape[-2:], slice_size,
                                        overlap))
        else:
            with torch.no_grad():
                outputs = model.test_step(batch)
            slices += 1
        seconds += time.perf_counter() - t0
        evaluator.process(data_samples=outputs, data_batch=batch)
    metrics = evaluator.evaluate(num)
    return dict(metrics={k: float(v) for k, v in metrics.items()},
                infer_s=seconds / max(num, 1), num_images=num,
                slices=slices / max(num, 1))


def score_checkpoints(config: str, checkpoints: Sequence[str],
                      split: str = 'val', **kwargs) -> List[Dict]:
    """:func:`evaluate_detector` for each checkpoint of one config (the
    model is built once and given each checkpoint's weights)."""
    from mmengine.runner import load_checkpoint
    cfg = load_config(config)
    model = build_model(cfg)
    out = []
    for ckpt in checkpoints:
        load_checkpoint(model, ckpt, map_location='cpu', logger='silent')
        model.eval()
        out.append(dict(checkpoint=ckpt, **evaluate_detector(
            cfg.copy(), model, split, **kwargs)))
    return out
