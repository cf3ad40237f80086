"""Writing and stamping shared by the UltraDigits generators.

The three generators (:mod:`.ultradigits`, :mod:`.ultradigits_scales`,
:mod:`.ultradigits_cls`) write their files the same way, so that the same
arguments give the same bytes (with the same numpy/OpenCV builds):

* PNGs with fixed encoder parameters (:func:`write_png`), text as UTF-8 with
  ``\\n`` line endings (:func:`write_text`), COCO detection json with the
  digit categories (:func:`coco_categories`, :func:`coco_annotation`,
  :func:`write_coco`);
* canvases of a split named ``{split}/{index:06d}.png``; stale ones of an
  earlier, larger generation are removed first (:func:`clear_pngs`);
* a *stamp*, a json file with the format version and the arguments, which
  is removed when a generation starts and written when it ends
  (:func:`remove_stamp`, :func:`write_stamp`), so an interrupted run never
  looks complete; a generation is up to date when its stamp matches and
  every file it writes is there (:func:`read_stamp`,
  :func:`expected_files`, :func:`stamp_up_to_date`).

Only numpy, OpenCV and the standard library are imported.
"""
import inspect
import json
import os
import os.path as osp
from typing import Callable, Dict, List, Optional, Sequence

import cv2
import numpy as np

#: UltraDigits' stamp (relative to ``out_dir``), the default of
#: :func:`read_stamp`; the other generators name their own
STAMP_FILE = osp.join('meta', 'ultradigits.json')


def write_png(path: str, img: np.ndarray) -> None:
    """Write a PNG with fixed parameters (deterministic bytes).

    Args:
        path (str): output file.
        img (np.ndarray): (H, W, 3) uint8 BGR image or (H, W) uint8 map.
    """
    if not cv2.imwrite(path, img, [cv2.IMWRITE_PNG_COMPRESSION, 1]):
        raise IOError(f'failed to write {path}')


def write_text(path: str, text: str) -> None:
    """Write UTF-8 text with ``\\n`` line endings."""
    with open(path, 'w', encoding='utf-8', newline='\n') as f:
        f.write(text)


def clear_pngs(folder: str) -> None:
    """Remove the ``*.png`` files a previous generation left in ``folder``."""
    if not osp.isdir(folder):
        return
    for name in sorted(os.listdir(folder)):
        if name.endswith('.png'):
            os.remove(osp.join(folder, name))


def coco_categories() -> List[dict]:
    """COCO categories: ``{'id': d, 'name': str(d)}`` for d in 0..9."""
    return [dict(id=d, name=str(d), supercategory='digit') for d in range(10)]


def coco_annotation(ann_id: int, image_id: int, digit: int,
                    bbox: Sequence[int], **extra) -> dict:
    """One COCO box of a digit (``category_id`` = the digit value).

    Args:
        ann_id (int): annotation id (from 1 in a split).
        image_id (int): id of its image (from 1 in a split).
        digit (int): the digit value, 0..9.
        bbox (Sequence[int]): ``[x, y, w, h]`` in pixels; written as floats,
            with ``area = w * h``.
        **extra: more fields, written after ``iscrowd``.
    """
    return dict(
        id=ann_id,
        image_id=image_id,
        category_id=digit,
        bbox=[float(v) for v in bbox],
        area=float(bbox[2] * bbox[3]),
        iscrowd=0,
        **extra)


def write_coco(path: str, description: str, version: int,
               images: List[dict], annotations: List[dict]) -> None:
    """Write a COCO detection json with the 10 digit categories.

    Args:
        path (str): output file.
        description (str): ``info.description``.
        version (int): the generator's format version (``info.version``).
        images (list[dict]): COCO image entries.
        annotations (list[dict]): COCO annotations
            (:func:`coco_annotation`).
    """
    coco = dict(
        info=dict(description=description, version=str(version)),
        licenses=[],
        images=images,
        annotations=annotations,
        categories=coco_categories())
    write_text(path, json.dumps(coco))


def read_stamp(out_dir: str, stamp_file: str = STAMP_FILE) -> Optional[dict]:
    """The stamp ``meta/ultradigits.json`` (or ``stamp_file``, relative to
    ``out_dir``: the other UltraDigits generators' stamps) of ``out_dir``,
    or None."""
    path = osp.join(out_dir, stamp_file)
    if not osp.isfile(path):
        return None
    try:
        with open(path, encoding='utf-8') as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def remove_stamp(out_dir: str, stamp_file: str) -> None:
    """Remove the stamp of ``out_dir`` (if any): a generation starts."""
    path = osp.join(out_dir, stamp_file)
    if osp.exists(path):
        os.remove(path)


def write_stamp(out_dir: str, stamp_file: str, format_version: int,
                generator: str, args: dict, splits: dict) -> None:
    """Write the stamp of a finished generation (indented json).

    Args:
        out_dir (str): the generation's folder.
        stamp_file (str): the stamp, relative to ``out_dir``.
        format_version (int): the generator's format version.
        generator (str): the generator's module name.
        args (dict): its arguments, as :func:`stamp_up_to_date` compares
            them.
        splits (dict): per-split summary.
    """
    stamp = dict(
        format_version=format_version,
        generator=generator,
        args=args,
        splits=splits)
    write_text(
        osp.join(out_dir, stamp_file), json.dumps(stamp, indent=2) + '\n')


def expected_files(counts: Dict[str, int],
                   image_dirs: Sequence[str] = ('images', ),
                   split_files: Sequence[str] = (),
                   common: Sequence[str] = ()) -> List[str]:
    """Paths (relative to ``out_dir``) of the files a generation writes.

    Args:
        counts (dict[str, int]): split -> number of canvases.
        image_dirs (Sequence[str]): folders holding one
            ``{split}/{index:06d}.png`` per canvas (images, masks).
        split_files (Sequence[str]): one file per split, ``{split}`` in the
            name formatted.
        common (Sequence[str]): files written once.

    Returns:
        list[str]: the paths, ``common`` first.
    """
    files = list(common)
    for split, num in counts.items():
        files += [name.format(split=split) for name in split_files]
        for idx in range(num):
            files += [osp.join(d, split, f'{idx:06d}.png') for d in image_dirs]
    return files


def stamp_up_to_date(out_dir: str, stamp_file: str, format_version: int,
                     args: dict, files: Sequence[str]) -> bool:
    """Whether ``out_dir`` holds a complete generation with these arguments.

    True when the stamp exists, has ``format_version`` and exactly ``args``,
    and every one of ``files`` (relative to ``out_dir``) is still there
    (contents are not checked).
    """
    stamp = read_stamp(out_dir, stamp_file)
    if (stamp is None or stamp.get('format_version') != format_version
            or stamp.get('args') != args):
        return False
    return all(osp.isfile(osp.join(out_dir, f)) for f in files)


def generator_arguments(generator: Callable, out_dir: str,
                        kwargs: dict) -> dict:
    """The arguments ``generator(out_dir, **kwargs)`` would run with, its
    defaults filled in (``out_dir`` left out).

    An up-to-date check takes its generator's keyword arguments, so the
    defaults have one home: the generator's signature. An argument the
    generator does not take raises ``TypeError`` naming it.
    """
    bound = inspect.signature(generator).bind(out_dir, **kwargs)
    bound.apply_defaults()
    arguments = dict(bound.arguments)
    arguments.pop('out_dir')
    return arguments
