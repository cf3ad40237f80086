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
See mmpatch/evaluation/sliced.py.
"""
import argparse
import json
import os
import os.path as osp
import sys


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
    import torch
    if args.threads:
        torch.set_num_threads(args.threads)
    from mmpatch.evaluation.sliced import (build_model, evaluate_detector,
                                           load_config)
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
