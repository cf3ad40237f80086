"""Convert PANDA (Prostate cANcer graDe Assessment) to mmpretrain files.

Input: the Kaggle download of the PANDA challenge::

    ROOT/train.csv      columns image_id, data_provider, isup_grade,
                        gleason_score
    ROOT/train_images/{image_id}.tiff   multi-resolution RGB slides

Output (what configs/_base_/datasets/panda.py reads)::

    OUT/images/{image_id}.png          SIZE x SIZE RGB
    OUT/meta/{train,val,test}.txt      "{image_id}.png {isup_grade}"
    OUT/meta/classes.txt               the ISUP grades '0'..'5'
    OUT/meta/panda.json                stamp: size, padding, split, seed

Each slide is read at one pyramid level: the smallest level whose longer
side (shorter side with ``--no-pad``) is at least SIZE, or the largest level
when none is, read with tifffile
(``TiffFile(path).series[0].levels``; slides that store their levels as
separate pages are handled too). It is then made square the way the PatchGD
code prepares PANDA: resized so that its longer side is SIZE (aspect ratio
kept, area interpolation when shrinking) and padded with white, centred, to
SIZE x SIZE. ``--no-pad`` stretches the slide to SIZE x SIZE instead.

The split is deterministic: the image ids, sorted, are shuffled with
``numpy.random.default_rng(seed)`` and cut into train / val / test, by
default 8616 / 1000 / 1000 (PANDA's 10616 slides). When the csv has fewer
rows than the split asks for, the counts are scaled proportionally (and the
script says so); when it has more, the extra rows are left out. Existing
PNGs of an earlier run with the same size and padding are kept, so an
interrupted conversion resumes (``--overwrite`` redoes them).

Reading real PANDA slides (JPEG-compressed tiles) needs tifffile's codecs:
``pip install imagecodecs``.

Usage::

    python tools/dataset_converters/panda.py ROOT data/panda_2048 \\
        [--size 2048] [--split 8616 1000 1000] [--seed 0] [--no-pad] \\
        [--workers 4] [--skip-missing] [--overwrite]
"""
import argparse
import csv
import json
import os
import os.path as osp
from multiprocessing import Pool
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np

# a sibling module: Python puts this script's folder first on sys.path;
# choose_level and pyramid_levels are part of this converter's interface
from panda_slides import choose_level, pyramid_levels, read_slide  # noqa: F401

NUM_GRADES = 6
DEFAULT_SPLIT = (8616, 1000, 1000)
SPLITS = ('train', 'val', 'test')
STAMP = 'panda.json'


# ------------------------------------------------------------------ inputs
def read_csv(path: str) -> List[Tuple[str, int]]:
    """``(image_id, isup_grade)`` of every row of PANDA's ``train.csv``."""
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'PANDA csv not found: {path} (pass the folder that holds '
            'train.csv and train_images/)')
    with open(path, newline='') as f:
        reader = csv.DictReader(f)
        missing = {'image_id', 'isup_grade'} - set(reader.fieldnames or [])
        if missing:
            raise ValueError(f'{path} has no column(s) {sorted(missing)}; '
                             f'its header is {reader.fieldnames}')
        rows = []
        for line, row in enumerate(reader, start=2):
            try:
                grade = int(row['isup_grade'])
            except ValueError:
                grade = -1
            if not 0 <= grade < NUM_GRADES:
                raise ValueError(
                    f'{path}, line {line}: isup_grade must be 0..'
                    f'{NUM_GRADES - 1}, got {row["isup_grade"]!r}')
            rows.append((row['image_id'].strip(), grade))
    ids = [r[0] for r in rows]
    if len(set(ids)) != len(ids):
        raise ValueError(f'{path} lists some image_id more than once')
    return rows


# -------------------------------------------------------------- processing
def make_square(img: np.ndarray, size: int, pad: bool = True) -> np.ndarray:
    """Resize (longer side = ``size``) and pad with white to a square.

    With ``pad=False`` the image is stretched to ``size x size``.
    """
    h, w = img.shape[:2]
    if pad:
        scale = size / max(h, w)
        nh = min(size, max(1, round(h * scale)))
        nw = min(size, max(1, round(w * scale)))
    else:
        nh = nw = size
    interp = cv2.INTER_AREA if nh * nw < h * w else cv2.INTER_LINEAR
    img = cv2.resize(img, (nw, nh), interpolation=interp)
    if (nh, nw) == (size, size):
        return img
    top, left = (size - nh) // 2, (size - nw) // 2
    return cv2.copyMakeBorder(img, top, size - nh - top, left,
                              size - nw - left, cv2.BORDER_CONSTANT,
                              value=(255, 255, 255))


def split_counts(num: int, split: Sequence[int]) -> Tuple[List[int], str]:
    """The split sizes for ``num`` rows, and a note when they were changed."""
    if len(split) != 3 or min(split) < 0 or sum(split) == 0:
        raise ValueError(f'--split needs 3 counts >= 0 (train val test), '
                         f'got {list(split)}')
    total = sum(split)
    if num == total:
        return list(split), ''
    if num > total:
        return list(split), (f'the csv lists {num} slides; the split '
                             f'{list(split)} uses {total} of them and leaves '
                             f'{num - total} out')
    val = round(num * split[1] / total)
    test = round(num * split[2] / total)
    counts = [num - val - test, val, test]
    return counts, (f'the csv lists {num} slides, fewer than the split '
                    f'{list(split)} asks for ({total}): split proportionally '
                    f'into {counts}')


def make_split(ids: Sequence[str], counts: Sequence[int],
               seed: int) -> Dict[str, List[str]]:
    """Deterministic split of ``ids``: sorted, shuffled with ``seed``, cut."""
    order = sorted(ids)
    perm = np.random.default_rng(seed).permutation(len(order))
    shuffled = [order[i] for i in perm]
    out, start = {}, 0
    for name, n in zip(SPLITS, counts):
        out[name] = sorted(shuffled[start:start + n])
        start += n
    return out


def _convert_one(job: Tuple[str, str, int, bool]) -> str:
    src, dst, size, pad = job
    img = make_square(read_slide(src, size, pad), size, pad)
    tmp = dst + '.tmp.png'
    if not cv2.imwrite(tmp, cv2.cvtColor(img, cv2.COLOR_RGB2BGR)):
        raise OSError(f'cannot write {dst}')
    os.replace(tmp, dst)  # a killed run leaves no half-written PNG
    return dst


def convert(root: str,
            out: str,
            size: int = 2048,
            split: Sequence[int] = DEFAULT_SPLIT,
            seed: int = 0,
            pad: bool = True,
            workers: int = 1,
            skip_missing: bool = False,
            overwrite: bool = False,
            log=print) -> Dict[str, int]:
    """Convert PANDA under ``root`` to ``out``; returns the split sizes."""
    if size < 1:
        raise ValueError(f'--size must be >= 1, got {size}')
    rows = read_csv(osp.join(root, 'train.csv'))
    img_dir = osp.join(root, 'train_images')
    if not osp.isdir(img_dir):
        raise FileNotFoundError(f'PANDA slide folder not found: {img_dir}')
    src = {i: osp.join(img_dir, f'{i}.tiff') for i, _ in rows}
    missing = [p for p in src.values() if not osp.isfile(p)]
    if missing and not skip_missing:
        raise FileNotFoundError(
            f'{len(missing)} slide(s) of the csv are missing, e.g. '
            f'{missing[0]}; pass --skip-missing to convert the others')
    if missing:
        log(f'skipping {len(missing)} missing slide(s), e.g. {missing[0]}')
        rows = [r for r in rows if osp.isfile(src[r[0]])]
    counts, note = split_counts(len(rows), split)
    if note:
        log(f'note: {note}')
    splits = make_split([i for i, _ in rows], counts, seed)
    grade = dict(rows)

    meta_dir, out_img = osp.join(out, 'meta'), osp.join(out, 'images')
    os.makedirs(meta_dir, exist_ok=True)
    os.makedirs(out_img, exist_ok=True)
    stamp = dict(size=size, pad=pad)
    stamp_path = osp.join(meta_dir, STAMP)
    if osp.isfile(stamp_path) and not overwrite:
        with open(stamp_path) as f:
            old = json.load(f)
        if {k: old.get(k) for k in stamp} != stamp:
            raise ValueError(
                f'{out} holds a conversion with {old}, not {stamp}: choose '
                'another output folder or pass --overwrite')

    jobs = []
    for name in SPLITS:
        for i in splits[name]:
            dst = osp.join(out_img, f'{i}.png')
            if overwrite or not osp.isfile(dst):
                jobs.append((src[i], dst, size, pad))
    kept = sum(counts) - len(jobs)
    log(f'converting {len(jobs)} slide(s) to {size}x{size} PNGs in {out_img}'
        + (f' ({kept} already there)' if kept else ''))
    if workers > 1 and len(jobs) > 1:
        with Pool(workers) as pool:
            for n, _ in enumerate(pool.imap_unordered(_convert_one, jobs), 1):
                if n % 100 == 0:
                    log(f'  {n}/{len(jobs)}')
    else:
        for n, job in enumerate(jobs, 1):
            _convert_one(job)
            if n % 100 == 0:
                log(f'  {n}/{len(jobs)}')

    for name in SPLITS:
        with open(osp.join(meta_dir, f'{name}.txt'), 'w') as f:
            f.writelines(f'{i}.png {grade[i]}\n' for i in splits[name])
    with open(osp.join(meta_dir, 'classes.txt'), 'w') as f:
        f.writelines(f'{g}\n' for g in range(NUM_GRADES))
    with open(stamp_path, 'w') as f:
        json.dump(dict(stamp, split=counts, seed=seed), f, indent=2)
    return {name: len(splits[name]) for name in SPLITS}


def main(argv: Optional[Sequence[str]] = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split('\n', 2)[2])
    parser.add_argument('root', help='folder with train.csv and train_images/')
    parser.add_argument('out', help='output folder, e.g. data/panda_2048')
    parser.add_argument('--size', type=int, default=2048,
                        help='side of the square PNGs (default 2048)')
    parser.add_argument('--split', type=int, nargs=3, default=DEFAULT_SPLIT,
                        metavar=('TRAIN', 'VAL', 'TEST'),
                        help='split sizes (default 8616 1000 1000)')
    parser.add_argument('--seed', type=int, default=0,
                        help='seed of the split (default 0)')
    parser.add_argument('--no-pad', action='store_true',
                        help='stretch slides to a square instead of padding')
    parser.add_argument('--workers', type=int, default=1,
                        help='processes converting slides in parallel')
    parser.add_argument('--skip-missing', action='store_true',
                        help='leave out csv rows whose slide is missing')
    parser.add_argument('--overwrite', action='store_true',
                        help='redo PNGs that an earlier run wrote')
    args = parser.parse_args(argv)
    counts = convert(args.root, args.out, args.size, args.split, args.seed,
                     not args.no_pad, args.workers, args.skip_missing,
                     args.overwrite)
    print(f'wrote {counts["train"]} train, {counts["val"]} val and '
          f'{counts["test"]} test images of {args.size}x{args.size} to '
          f'{args.out}')


if __name__ == '__main__':
    main()
