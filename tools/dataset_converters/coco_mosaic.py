"""Build 4096x4096 mosaics of COCO images (36 per canvas), boxes carried over.

Each canvas is a ``grid x grid`` layout of cells (``canvas // grid`` px);
each image is resized to fit its cell (aspect kept) and placed at the cell's
top-left corner, so images never overlap. Boxes are scaled and shifted with
their image; crowd annotations keep ``iscrowd``.

Usage::

    python tools/dataset_converters/coco_mosaic.py data/coco data/coco4096 \\
        --split val2017 --out-split val [--canvas 4096] [--grid 6] [--limit N]

reads ``data/coco/annotations/instances_val2017.json`` and
``data/coco/val2017/*.jpg``; writes ``data/coco4096/val/mosaic_00000.jpg``
and ``data/coco4096/annotations/instances_val.json``.
"""
import argparse
import json
import os
import os.path as osp
import random
from typing import Dict, List

import cv2
import numpy as np


def build_mosaics(coco_root: str, out_root: str, split: str, out_split: str,
                  canvas: int = 4096, grid: int = 6, limit: int = 0,
                  seed: int = 0) -> Dict[str, int]:
    ann_path = osp.join(coco_root, 'annotations', f'instances_{split}.json')
    if not osp.exists(ann_path):
        raise FileNotFoundError(
            f'{ann_path} not found: COCO_ROOT must hold annotations/ and '
            f'{split}/ as in the COCO download')
    with open(ann_path) as f:
        coco = json.load(f)
    anns_of: Dict[int, List[dict]] = {}
    for ann in coco['annotations']:
        anns_of.setdefault(ann['image_id'], []).append(ann)
    images = sorted(coco['images'], key=lambda im: im['id'])
    random.Random(seed).shuffle(images)
    per = grid * grid
    groups = [images[i:i + per] for i in range(0, len(images), per)]
    groups = [g for g in groups if len(g) == per]
    if limit:
        groups = groups[:limit]
    cell = canvas // grid
    os.makedirs(osp.join(out_root, out_split), exist_ok=True)
    os.makedirs(osp.join(out_root, 'annotations'), exist_ok=True)
    out_images, out_anns = [], []
    for idx, group in enumerate(groups):
        mosaic = np.zeros((canvas, canvas, 3), dtype=np.uint8)
        for pos, im in enumerate(group):
            path = osp.join(coco_root, split, im['file_name'])
            img = cv2.imread(path, cv2.IMREAD_COLOR)
            if img is None:
                raise ValueError(f'cannot read {path}')
            scale = min(cell / img.shape[0], cell / img.shape[1])
            h = max(1, int(img.shape[0] * scale))
            w = max(1, int(img.shape[1] * scale))
            y0, x0 = (pos // grid) * cell, (pos % grid) * cell
            mosaic[y0:y0 + h, x0:x0 + w] = cv2.resize(
                img, (w, h), interpolation=cv2.INTER_AREA)
            for ann in anns_of.get(im['id'], []):
                x, y, bw, bh = ann['bbox']
                box = [x * scale + x0, y * scale + y0, bw * scale, bh * scale]
                out_anns.append(dict(
                    id=len(out_anns) + 1, image_id=idx,
                    category_id=ann['category_id'], bbox=box,
                    area=box[2] * box[3], iscrowd=ann.get('iscrowd', 0),
                    source_image_id=im['id']))
        name = f'mosaic_{idx:05d}.jpg'
        cv2.imwrite(osp.join(out_root, out_split, name), mosaic)
        out_images.append(dict(id=idx, file_name=name, height=canvas,
                               width=canvas,
                               source_image_ids=[im['id'] for im in group]))
    out = dict(images=out_images, annotations=out_anns,
               categories=coco['categories'])
    with open(osp.join(out_root, 'annotations',
                       f'instances_{out_split}.json'), 'w') as f:
        json.dump(out, f)
    return dict(mosaics=len(out_images), boxes=len(out_anns))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('coco_root')
    parser.add_argument('out_root')
    parser.add_argument('--split', default='val2017')
    parser.add_argument('--out-split', default='val')
    parser.add_argument('--canvas', type=int, default=4096)
    parser.add_argument('--grid', type=int, default=6)
    parser.add_argument('--limit', type=int, default=0,
                        help='at most this many mosaics (0: all)')
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args()
    counts = build_mosaics(args.coco_root, args.out_root, args.split,
                           args.out_split, args.canvas, args.grid,
                           args.limit, args.seed)
    print(f'wrote {counts["mosaics"]} mosaics with {counts["boxes"]} boxes '
          f'to {args.out_root}')


if __name__ == '__main__':
    main()
