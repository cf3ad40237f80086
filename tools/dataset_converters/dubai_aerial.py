"""Convert the Dubai "Semantic segmentation of aerial imagery" set to mmseg.

Input layout (as distributed by Humans in the Loop)::

    ROOT/Tile 1/images/image_part_001.jpg
    ROOT/Tile 1/masks/image_part_001.png     RGB colour-coded classes
    ...
    ROOT/Tile 8/...

Output (what configs/_base_/datasets/aerial_seg.py reads)::

    OUT/img_dir/{train,val}/tile1_image_part_001.png   SIZE x SIZE RGB
    OUT/ann_dir/{train,val}/tile1_image_part_001.png   class ids, 255 = ignore

Usage::

    python tools/dataset_converters/dubai_aerial.py ROOT data/aerial \\
        [--size 1024] [--val-tiles 8]
"""
import argparse
import os
import os.path as osp
import re
from typing import Dict, List, Tuple

import cv2
import numpy as np

#: RGB colour of each class, in the class order of aerial_seg.py
COLOURS: Dict[Tuple[int, int, int], int] = {
    (60, 16, 152): 0,  # building   #3C1098
    (132, 41, 246): 1,  # land       #8429F6
    (110, 193, 228): 2,  # road       #6EC1E4
    (254, 221, 58): 3,  # vegetation #FEDD3A
    (226, 169, 41): 4,  # water      #E2A929
    (155, 155, 155): 5,  # unlabeled  #9B9B9B
}


def colour_to_ids(mask_rgb: np.ndarray, path: str) -> np.ndarray:
    """``(H, W, 3)`` RGB mask -> ``(H, W)`` uint8 ids, unknown colours 255."""
    ids = np.full(mask_rgb.shape[:2], 255, dtype=np.uint8)
    for rgb, idx in COLOURS.items():
        ids[np.all(mask_rgb == np.array(rgb, dtype=mask_rgb.dtype), -1)] = idx
    unknown = (ids == 255).mean()
    if unknown > 0.05:
        raise ValueError(
            f'{path}: {unknown:.0%} of the pixels have colours that are not '
            f'one of the 6 classes {sorted(COLOURS)}; is this the Dubai '
            'aerial set, saved without colour compression?')
    return ids


def find_pairs(root: str) -> List[Tuple[str, str, str]]:
    """(tile name, image path, mask path) for every image with a mask."""
    pairs = []
    for tile in sorted(os.listdir(root)):
        img_dir = osp.join(root, tile, 'images')
        if not osp.isdir(img_dir):
            continue
        for name in sorted(os.listdir(img_dir)):
            stem = osp.splitext(name)[0]
            mask = osp.join(root, tile, 'masks', stem + '.png')
            if not osp.exists(mask):
                raise FileNotFoundError(
                    f'{osp.join(img_dir, name)} has no mask at {mask}')
            pairs.append((tile, osp.join(img_dir, name), mask))
    if not pairs:
        raise FileNotFoundError(
            f'no "Tile N/images/*" folders under {root}: pass the folder '
            'that contains "Tile 1" ... "Tile 8"')
    return pairs


def convert(root: str, out: str, size: int = 1024,
            val_tiles: Tuple[int, ...] = (8, )) -> Dict[str, int]:
    counts = {'train': 0, 'val': 0}
    for tile, img_path, mask_path in find_pairs(root):
        number = int(re.sub(r'\D', '', tile) or 0)
        split = 'val' if number in val_tiles else 'train'
        img = cv2.imread(img_path, cv2.IMREAD_COLOR)
        mask = cv2.imread(mask_path, cv2.IMREAD_COLOR)
        if img is None or mask is None:
            raise ValueError(f'cannot read {img_path} or {mask_path}')
        ids = colour_to_ids(mask[..., ::-1], mask_path)
        img = cv2.resize(img, (size, size), interpolation=cv2.INTER_AREA)
        ids = cv2.resize(ids, (size, size), interpolation=cv2.INTER_NEAREST)
        name = f'tile{number}_{osp.splitext(osp.basename(img_path))[0]}.png'
        for sub, arr in (('img_dir', img), ('ann_dir', ids)):
            os.makedirs(osp.join(out, sub, split), exist_ok=True)
            cv2.imwrite(osp.join(out, sub, split, name), arr)
        counts[split] += 1
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('root', help='folder holding "Tile 1" .. "Tile 8"')
    parser.add_argument('out', help='output folder, e.g. data/aerial')
    parser.add_argument('--size', type=int, default=1024)
    parser.add_argument('--val-tiles', type=int, nargs='+', default=[8])
    args = parser.parse_args()
    counts = convert(args.root, args.out, args.size, tuple(args.val_tiles))
    print(f'wrote {counts["train"]} train and {counts["val"]} val tiles of '
          f'{args.size}x{args.size} to {args.out}')


if __name__ == '__main__':
    main()
