"""Run a trained mmpatch model on new images through its host library's
inferencer.

    python tools/predict.py CONFIG CHECKPOINT INPUT [--out-dir DIR]
        [--device cpu|cuda] [--score-thr 0.3] [--view-size 1024]

INPUT is an image file or a folder of them. The config's ``default_scope``
picks the inferencer: mmdet's ``DetInferencer``, mmseg's
``MMSegInferencer`` or mmpretrain's ``ImageClassificationInferencer``. They
build the model from the config (its ``custom_imports`` register the
PatchGD model) and run PatchGD's whole-image inference, in memory bounded
by the fill chunk plus Z. Per image ``NAME``, under ``--out-dir``:

- ``NAME.json``: detection, the boxes (x1, y1, x2, y2 in image pixels),
  scores and class names above ``--score-thr``; classification, the class
  scores and the predicted class;
- ``NAME_mask.png``: segmentation, the class index of every pixel;
- ``NAME_view.jpg``: the host visualizer's picture (the image alone with
  the class for classification), its longer side at most ``--view-size``.

Each image's peak memory during inference, weights included
(``mmpatch.memory.MemoryMeter``: live tensor bytes on CPU,
``max_memory_allocated`` on CUDA), and its time are printed.
"""
import argparse
import json
import os
import os.path as osp
import time
from typing import Any, Callable, Dict, List, Tuple

import cv2
import numpy as np
from mmengine.config import Config

IMAGE_EXTS = ('.png', '.jpg', '.jpeg', '.bmp', '.tif', '.tiff', '.webp')


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('input', help='an image file or a folder of them')
    parser.add_argument('--out-dir', default='work_dirs/predict')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--score-thr', type=float, default=0.3,
                        help='detection: boxes kept and drawn above it')
    parser.add_argument('--view-size', type=int, default=1024,
                        help='longer side of the saved picture, pixels')
    return parser.parse_args(argv)


def list_images(path: str) -> List[str]:
    """``path`` itself, or the images of the folder ``path`` (sorted)."""
    if osp.isfile(path):
        return [path]
    if not osp.isdir(path):
        raise FileNotFoundError(f'{path}: no such image or folder')
    images = sorted(
        osp.join(path, f) for f in os.listdir(path)
        if f.lower().endswith(IMAGE_EXTS))
    if not images:
        raise FileNotFoundError(
            f'{path}: no image ({", ".join(IMAGE_EXTS)}) in this folder')
    return images


def save_view(rgb: np.ndarray, path: str, view_size: int) -> None:
    """Write an RGB picture with its longer side at most ``view_size``."""
    scale = view_size / max(rgb.shape[:2])
    if scale < 1:
        rgb = cv2.resize(rgb, None, fx=scale, fy=scale,
                         interpolation=cv2.INTER_AREA)
    cv2.imwrite(path, cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))


def detector(args) -> Tuple[Any, Callable[[str, str], Dict]]:
    from mmdet.apis import DetInferencer
    infer = DetInferencer(model=args.config, weights=args.checkpoint,
                          device=args.device)
    classes = infer.model.dataset_meta.get('classes', ())

    def run(image: str, stem: str) -> Dict:
        res = infer(image, return_datasamples=True, return_vis=True,
                    no_save_vis=True, no_save_pred=True,
                    pred_score_thr=args.score_thr)
        pred = res['predictions'][0].pred_instances
        pred = pred[pred.scores > args.score_thr]
        labels = pred.labels.tolist()
        out = dict(bboxes=[[round(v, 1) for v in b]
                           for b in pred.bboxes.tolist()],
                   scores=[round(s, 4) for s in pred.scores.tolist()],
                   labels=[classes[i] if i < len(classes) else i
                           for i in labels])
        save_view(res['visualization'][0], f'{stem}_view.jpg',
                  args.view_size)
        return dict(json=out, summary=f'{len(labels)} boxes')

    return infer.model, run


def segmentor(args) -> Tuple[Any, Callable[[str, str], Dict]]:
    from mmseg.apis import MMSegInferencer
    infer = MMSegInferencer(model=args.config, weights=args.checkpoint,
                            device=args.device)

    def run(image: str, stem: str) -> Dict:
        # one image: the (H, W) class map and the picture, not lists
        res = infer(image, return_vis=True)
        mask = np.asarray(res['predictions']).astype(np.uint8)
        cv2.imwrite(f'{stem}_mask.png', mask)
        save_view(res['visualization'], f'{stem}_view.jpg', args.view_size)
        present = np.unique(mask).tolist()
        return dict(json=None, summary=f'classes present {present}')

    return infer.model, run


def classifier(args) -> Tuple[Any, Callable[[str, str], Dict]]:
    from mmpretrain.apis import ImageClassificationInferencer
    infer = ImageClassificationInferencer(
        model=args.config, pretrained=args.checkpoint, device=args.device)

    def run(image: str, stem: str) -> Dict:
        res = infer(image)[0]
        out = dict(pred_label=int(res['pred_label']),
                   pred_class=res.get('pred_class'),
                   pred_score=round(float(res['pred_score']), 4),
                   scores=[round(float(s), 4) for s in res['pred_scores']])
        rgb = cv2.cvtColor(cv2.imread(image), cv2.COLOR_BGR2RGB)
        scale = min(1.0, args.view_size / max(rgb.shape[:2]))
        rgb = cv2.resize(rgb, None, fx=scale, fy=scale,
                         interpolation=cv2.INTER_AREA)
        name = out['pred_class'] or out['pred_label']
        cv2.putText(rgb, f'{name} {out["pred_score"]:.2f}', (10, 40),
                    cv2.FONT_HERSHEY_SIMPLEX, 1.2, (255, 0, 0), 2)
        save_view(rgb, f'{stem}_view.jpg', args.view_size)
        return dict(json=out, summary=f'class {name} ({out["pred_score"]})')

    return infer.model, run


INFERENCERS = dict(mmdet=detector, mmseg=segmentor, mmpretrain=classifier)


def main(argv=None) -> List[Dict]:
    args = parse_args(argv)
    import mmpatch.utils
    from mmpatch.memory import MemoryMeter
    from mmpatch.utils.cli import host_scope
    scope = host_scope(Config.fromfile(args.config))
    if scope is None:
        raise ValueError(
            f'{args.config}: default_scope must be one of '
            f'{sorted(INFERENCERS)} for tools/predict.py to pick the host '
            "library's inferencer")
    mmpatch.utils.enable_safe_checkpoint_loading()
    images = list_images(args.input)
    model, run = INFERENCERS[scope](args)
    os.makedirs(args.out_dir, exist_ok=True)
    done = []
    for image in images:
        stem = osp.join(args.out_dir, osp.splitext(osp.basename(image))[0])
        t0 = time.perf_counter()
        with MemoryMeter(args.device, track=model) as meter:
            out = run(image, stem)
        seconds = time.perf_counter() - t0
        if out['json'] is not None:
            with open(f'{stem}.json', 'w') as f:
                json.dump(out['json'], f)
        print(f'{image}: {out["summary"]}; peak {meter.peak_mb:.1f} MiB, '
              f'{seconds:.2f} s -> {stem}_*')
        done.append(dict(image=image, peak_mb=meter.peak_mb, s=seconds))
    return done


if __name__ == '__main__':
    main()
