"""Score a detector on whole test canvases by sliced inference.

    python tools/analysis_tools/sliced_eval.py CONFIG CHECKPOINT \
        [--slice-size 768] [--overlap 0.25] [--split test] \
        [--out-prefix work_dirs/sliced/results] [--json metrics.json] \
        [--whole] [--max-images N]

Slices of ``--slice-size`` (SAHI's windows, overlap 0.25), the model's own
``test_step`` on each slice at its stored resolution, boxes shifted and
merged by class-aware NMS (mmdet's ``mmdet.utils.large_image``), the
model's ``max_per_img`` best kept, scored by the config's evaluator
(``CocoMetric`` or ``SizeBucketCocoMetric``) as mmengine's test loop scores
whole-image inference; ``OUT_PREFIX.bbox.json`` is the COCO results json.
``--slice-size 0`` makes one slice of the whole canvas (the check that the
path equals the test loop); ``--whole`` runs the test loop's own
whole-image inference through the same scoring. Prints the metrics and the
model's inference time per canvas (loading excluded).

The slicing, each slice's prediction and the merge are the library's
(mmpatch/evaluation/sliced.py); this tool builds the model and scores a
split as mmengine's ``TestLoop`` does (:func:`evaluate_detector`, which
``det_comparison.py`` imports too). With one slice that covers the canvas,
:func:`evaluate_detector` gives the test loop's numbers
(``tests/test_evaluation/test_sliced.py``); whole-image inference runs
through the same loop, so inference times per canvas compare.
"""
import argparse
import json
import os
import os.path as osp
import sys
import time
from typing import Dict, List, Optional, Sequence

import torch

from mmpatch.evaluation.sliced import forward_windows, predict_sliced


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
            :func:`~mmpatch.evaluation.sliced.predict_sliced`
            (``slice_size`` None: one slice, the whole canvas); otherwise
            by the model's ``test_step`` on the test pipeline's image, as
            mmengine's ``TestLoop`` does.
        overlap, batch_size: see ``predict_sliced``.
        outfile_prefix: where the evaluator writes ``PREFIX.bbox.json``
            (the COCO results json).
        max_images: score only the first images (smoke runs).

    Returns:
        dict: ``metrics`` (the evaluator's), ``infer_s`` (model seconds per
        canvas, loading excluded), ``num_images``, ``slices`` (per canvas).
    """
    from mmengine.dataset import pseudo_collate
    options = getattr(model, 'slice_options', None)
    if options is not None:  # a SlicedDetector: its test_step slices
        if sliced:
            model.slice_options = dict(options, slice_size=slice_size,
                                       overlap=overlap)
        options, sliced = model.slice_options, False
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
            slices += sum(map(len, forward_windows(
                *inputs.shape[-2:], slice_size, overlap)))
        else:
            with torch.no_grad():
                outputs = model.test_step(batch)
            slices += 1 if options is None else sum(map(len, forward_windows(
                *batch['inputs'][0].shape[-2:], options['slice_size'],
                options['overlap'], options['whole_image'])))
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


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('config')
    p.add_argument('checkpoint')
    p.add_argument('--slice-size', type=int, default=768,
                   help='slice side in px (the crop side); 0: one slice, '
                   'the whole canvas')
    p.add_argument('--overlap', type=float, default=0.25)
    p.add_argument('--whole', action='store_true',
                   help="whole-image inference (the test loop's), no "
                   'slicing')
    p.add_argument('--split', default='test', choices=('val', 'test'))
    p.add_argument('--out-prefix', default=None,
                   help='write the COCO results json as PREFIX.bbox.json')
    p.add_argument('--json', default=None, help='write the metrics here')
    p.add_argument('--max-images', type=int, default=None)
    p.add_argument('--batch-size', type=int, default=4,
                   help='slices per forward')
    p.add_argument('--threads', type=int, default=None)
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    cfg = load_config(args.config)
    model = build_model(cfg, args.checkpoint)
    if args.out_prefix:
        os.makedirs(osp.dirname(osp.abspath(args.out_prefix)), exist_ok=True)
    res = evaluate_detector(
        cfg, model, args.split, slice_size=args.slice_size or None,
        sliced=not args.whole, overlap=args.overlap,
        outfile_prefix=args.out_prefix, max_images=args.max_images,
        batch_size=args.batch_size)
    res.update(config=args.config, checkpoint=args.checkpoint,
               slice_size=None if args.whole else (args.slice_size or None),
               overlap=args.overlap)
    mode = ('whole image' if args.whole else
            f'{res["slices"]:.0f} slices of {args.slice_size or "the canvas"}')
    print(f'{args.split}: {res["num_images"]} canvases, {mode}, '
          f'{res["infer_s"]:.2f} s per canvas')
    for k, v in res['metrics'].items():
        print(f'  {k}: {v:.4f}')
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(res, f, indent=2)
    return 0


if __name__ == '__main__':
    sys.exit(main())
