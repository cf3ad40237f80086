"""Image sizes of a dataset, read without decoding any image.

The memory planner plans for the largest image a dataset holds. A COCO-style
annotation names each image's ``height`` and ``width``; otherwise the image
file's header is read (an ``.npy`` array's shape, or an image format's
header through Pillow, which decodes nothing until asked).
"""
from typing import Any, List, Optional, Sequence, Tuple

import numpy as np

Size = Tuple[int, int]


def header_size(path: str) -> Optional[Size]:
    """``(h, w)`` of an image file from its header; None if unreadable."""
    try:
        if path.endswith('.npy'):
            shape = np.load(path, mmap_mode='r', allow_pickle=False).shape
            return int(shape[0]), int(shape[1])
        from PIL import Image
        guard, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None
        try:
            with Image.open(path) as img:
                w, h = img.size
        finally:
            Image.MAX_IMAGE_PIXELS = guard
        return int(h), int(w)
    except (OSError, ValueError, IndexError):
        return None


def sample_size(info: dict) -> Optional[Size]:
    """``(h, w)`` of one data sample's image: from its annotation when it
    names one, else from the file's header."""
    if info.get('height') and info.get('width'):
        return int(info['height']), int(info['width'])
    path = info.get('img_path')
    return header_size(path) if isinstance(path, str) else None


def dataset_sizes(dataset: Any) -> List[Optional[Size]]:
    """``(h, w)`` of each sample's stored image (None where unknown).

    ``dataset`` is an mmengine ``BaseDataset`` (``get_data_info``); a
    dataset without it gives no sizes.
    """
    get_info = getattr(dataset, 'get_data_info', None)  # mmengine's API
    if get_info is None:
        return [None] * len(dataset)
    return [sample_size(get_info(i)) for i in range(len(dataset))]


def largest_samples(sizes: Sequence[Optional[Size]],
                    count: int,
                    patch_size: Optional[Size] = None) -> List[int]:
    """Indices of the ``count`` samples with the largest images; samples of
    unknown size come last.

    Largest by area, or with ``patch_size`` ``(ph, pw)`` by grid cells
    ``ceil(h / ph) * ceil(w / pw)`` first (what Z and the fill grow with),
    then area.
    """
    def key(i: int) -> Tuple[int, int, int]:
        if not sizes[i]:
            return (1, 0, 0)
        h, w = sizes[i]
        cells = -(-h // patch_size[0]) * -(-w // patch_size[1]) \
            if patch_size else 0
        return (0, -cells, -h * w)

    return sorted(range(len(sizes)), key=key)[:max(1, count)]
