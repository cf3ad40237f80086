"""``LoadLazyImage``: a pipeline's image, read patch by patch from disk.

Registered in mmengine's root ``TRANSFORMS`` (where mmcv's own
``LoadImageFromFile`` lives), so mmdet, mmseg and mmpretrain pipelines all
find it. A config imports it::

    custom_imports = dict(
        imports=['mmpatch.models.detector', 'mmpatch.datasets.lazy_image'],
        allow_failed_imports=False)
    train_pipeline = [
        dict(type='LoadLazyImage'),
        dict(type='LoadAnnotations', with_bbox=True),
        dict(type='RandomFlip', prob=0.5),
        dict(type='PackDetInputs', meta_keys=LAZY_META_KEYS),
    ]

Why: a PatchGD step reads one patch at a time plus a small global patch, so
the whole image need not be resident. With ``LoadImageFromFile`` the
decoded image (3 bytes a pixel: 48 MiB at 4096², 768 MiB at 16384²) is
held for the whole step, and on a GPU the data preprocessor moves it to the
device. ``LoadLazyImage`` decodes each image once into an uncompressed
``.npy`` cache (or maps an ``.npy`` image directly) and hands the pipeline
a zero-channel stand-in of the image's shape; the model's data preprocessor
(one of mmpatch's ``Patch*DataPreprocessor``) turns the batch into a
:class:`~mmpatch.datasets.pixels.MappedBatch` that the patch grid reads
region by region.

What may follow it: transforms that change only metadata, annotations or
the image's orientation (``LoadAnnotations``, ``RandomFlip``,
``CheckSegMapSize``, ``FilterAnnotations``, the ``Pack*`` transforms). Flips
are recorded by ``RandomFlip`` and applied when the patches are read.
Resizing, cropping, padding and photometric transforms need the pixels; use
``LoadImageFromFile`` with them. :func:`check_lazy_pipeline` (run by
``LazyImageCheckHook`` before training or testing) refuses any other
transform after ``LoadLazyImage``, and the data preprocessor refuses a
stand-in whose shape no longer matches its image.
"""
import hashlib
import os
import os.path as osp
import tempfile
from typing import Any, Iterable, List, Optional, Sequence

import numpy as np
from mmcv.transforms import BaseTransform, LoadImageFromFile
from mmengine.registry import TRANSFORMS

# LAZY_KEY: the metadata key that carries the mapped file to the samples
from .pixels import LAZY_KEY
from .tiff_image import TiffImage, is_tiff, open_image

#: ``meta_keys`` for ``PackDetInputs`` / ``PackSegInputs`` / ``PackInputs``
#: after ``LoadLazyImage``: their defaults plus :data:`LAZY_KEY`
LAZY_META_KEYS = ('img_id', 'img_path', 'seg_map_path', 'sample_idx',
                  'ori_shape', 'img_shape', 'pad_shape', 'scale_factor',
                  'flip', 'flip_direction', 'reduce_zero_label', LAZY_KEY)

#: transforms that may follow LoadLazyImage: they read or change metadata,
#: annotations or the recorded orientation only, never pixels
LAZY_SAFE_TRANSFORMS = frozenset({
    'LoadAnnotations', 'RandomFlip', 'CheckSegMapSize', 'FilterAnnotations',
    'PackDetInputs', 'PackSegInputs', 'PackInputs', 'PackClsInputs'
})


#: transforms that only run the transforms they hold
_CONTAINERS = frozenset(
    {'TestTimeAug', 'RandomChoice', 'RandomApply', 'RandomOrder', 'Compose'})


def default_cache_dir() -> str:
    """``~/.cache/mmpatch/images``."""
    return osp.join(osp.expanduser('~'), '.cache', 'mmpatch', 'images')


@TRANSFORMS.register_module()
class LoadLazyImage(BaseTransform):
    """Stand in for ``LoadImageFromFile`` without holding the pixels.

    Required keys: ``img_path``.
    Added keys: ``img`` (an ``(h, w, 0)`` uint8 stand-in: the shape, no
    pixels), ``img_shape``, ``ori_shape``, ``scale_factor`` (1, 1),
    ``lazy_image`` (the ``.npy`` file that the patches are read from).

    An ``.npy`` ``img_path`` holding an ``(h, w)`` or ``(h, w, C)`` uint8
    array is mapped as it is. Any other image is decoded once by mmcv's
    ``LoadImageFromFile`` (same ``color_type``, ``imdecode_backend`` and
    ``backend_args``) and written to ``cache_dir`` as ``.npy``, under a name
    made from its path, size and modification time, so an edited image is
    decoded again. The cache costs ``h * w * C`` bytes of disk per image.

    Args:
        cache_dir (str, optional): where decoded images are kept. Defaults
            to ``~/.cache/mmpatch/images``.
        color_type (str): as ``LoadImageFromFile``. Defaults to 'color'.
        imdecode_backend (str): as ``LoadImageFromFile``. Defaults to 'cv2'.
        backend_args (dict, optional): as ``LoadImageFromFile``.
        allow (Sequence[str]): names of further transforms that may follow
            this one in the pipeline (see :func:`check_lazy_pipeline`); only
            for transforms that never read or change pixels.
    """

    def __init__(self,
                 cache_dir: Optional[str] = None,
                 color_type: str = 'color',
                 imdecode_backend: str = 'cv2',
                 backend_args: Optional[dict] = None,
                 allow: Sequence[str] = ()) -> None:
        self.cache_dir = cache_dir or default_cache_dir()
        self.allow = tuple(allow)
        self._decoder = LoadImageFromFile(
            color_type=color_type,
            imdecode_backend=imdecode_backend,
            backend_args=backend_args)

    def mapped_path(self, img_path: str) -> str:
        """The file to read ``img_path`` from: itself for an ``.npy`` array
        or a tiled (or multi-strip) TIFF, read region by region
        (:class:`~mmpatch.datasets.tiff_image.TiffImage`); else its
        ``.npy`` cache, written if missing."""
        if img_path.endswith('.npy'):
            return img_path
        if is_tiff(img_path) and osp.exists(img_path):
            try:
                if TiffImage(img_path).reads_by_region:
                    return img_path
            except ValueError:
                pass  # a TIFF it cannot read by region: decoded and cached
        try:
            stat = os.stat(img_path)
            stamp = f'{stat.st_size}:{stat.st_mtime_ns}'
        except OSError:  # not a local file: the path alone names it
            stamp = ''
        key = '|'.join((osp.abspath(img_path), stamp,
                        self._decoder.color_type,
                        self._decoder.imdecode_backend))
        name = hashlib.sha1(key.encode()).hexdigest()[:20]
        path = osp.join(self.cache_dir, f'{name}.npy')
        if osp.exists(path):
            return path
        decoded = self._decoder(dict(img_path=img_path))
        if decoded is None:
            raise ValueError(f'LoadImageFromFile could not read {img_path}')
        img = np.asarray(decoded['img'])
        if img.dtype != np.uint8:
            raise ValueError(
                f'{img_path} decodes to {img.dtype} pixels; LoadLazyImage '
                'maps 8-bit images only. Use LoadImageFromFile for it')
        os.makedirs(self.cache_dir, exist_ok=True)
        # written under a temporary name and renamed: a reader never maps a
        # half-written file, and two workers may race harmlessly
        fd, tmp = tempfile.mkstemp(suffix='.npy', dir=self.cache_dir)
        try:
            with os.fdopen(fd, 'wb') as f:
                np.save(f, img, allow_pickle=False)
            os.replace(tmp, path)
        except BaseException:
            if osp.exists(tmp):
                os.remove(tmp)
            raise
        return path

    def transform(self, results: dict) -> dict:
        img_path = results['img_path']
        path = self.mapped_path(img_path)
        try:  # opened here so that a bad file fails in the pipeline
            h, w = open_image(path).shape
        except ValueError as exc:
            raise ValueError(f'LoadLazyImage, the image {img_path}: {exc}. '
                             'A damaged cache file can be deleted: it is '
                             'written again') from exc
        results['img'] = np.empty((h, w, 0), dtype=np.uint8)
        results['img_shape'] = (h, w)
        results['ori_shape'] = (h, w)
        # what a Resize would record at the stored size: mmdet rescales its
        # predicted boxes by it
        results['scale_factor'] = (1.0, 1.0)
        results[LAZY_KEY] = path
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(cache_dir={self.cache_dir!r}, '
                f'color_type={self._decoder.color_type!r}, '
                f'imdecode_backend={self._decoder.imdecode_backend!r})')


def check_lazy_pipeline(pipeline: Iterable, where: str = 'pipeline') -> None:
    """Raise a clear error when a transform that needs pixels follows
    ``LoadLazyImage`` in ``pipeline`` (a list of transform configs).

    The stand-in has no pixels: a resize would crash OpenCV (it does not
    check for zero channels) and a photometric transform would silently do
    nothing. Nested pipelines (``TestTimeAug``'s ``transforms``,
    ``RandomChoice``...) are checked too.

    Args:
        pipeline (list[dict]): transform configs.
        where (str): names the pipeline in the error, e.g.
            ``'train_dataloader.dataset.pipeline'``.
    """
    allowed = None  # set once LoadLazyImage is seen
    for step in _flatten(pipeline):
        name = _type_name(step)
        if name == 'LoadLazyImage':
            allow = (step.get('allow', ()) if isinstance(step, dict) else
                     getattr(step, 'allow', ()))
            allowed = LAZY_SAFE_TRANSFORMS | set(allow)
            continue
        if allowed is None or name in _CONTAINERS:
            continue  # a container's own transforms are checked in turn
        if name not in allowed:
            raise ValueError(
                f'{where}: {name} follows LoadLazyImage, which hands the '
                'pipeline the image\'s shape but not its pixels (the model '
                'reads them patch by patch). Only transforms that never '
                'read or change pixels may follow it '
                f'({", ".join(sorted(allowed))}). '
                f'Move {name} before LoadLazyImage if it does not need the '
                'image, use LoadImageFromFile instead of LoadLazyImage, or, '
                f'if {name} really never touches pixels, name it in '
                f"LoadLazyImage(allow=['{name}']).")


def check_lazy_config(cfg: Any) -> None:
    """:func:`check_lazy_pipeline` on every ``pipeline`` list of a config
    (dataloaders, wrapped datasets, TTA), each named by its path."""

    def walk(node: Any, where: str) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                path = f'{where}.{key}' if where else str(key)
                if key == 'pipeline' and isinstance(value, (list, tuple)):
                    check_lazy_pipeline(value, path)
                walk(value, path)
        elif isinstance(node, (list, tuple)):
            for i, value in enumerate(node):
                walk(value, f'{where}[{i}]')

    walk(cfg, '')


def _type_name(step: Any) -> str:
    """A transform's class name, from a config (``type`` a name, a scoped
    name or a class) or a built transform."""
    kind = step.get('type') if isinstance(step, dict) else type(step)
    name = kind if isinstance(kind, str) else getattr(kind, '__name__',
                                                       str(kind))
    return name.split('.')[-1]


def _flatten(pipeline: Iterable) -> List:
    """Transform configs in order, nested ones (``transforms`` lists)
    included."""
    out: List = []
    for step in pipeline or ():
        out.append(step)
        inner = step.get('transforms') if isinstance(step, dict) else None
        if isinstance(inner, (list, tuple)):
            for item in inner:
                out.extend(_flatten(item if isinstance(item, (
                    list, tuple)) else [item]))
    return out


@TRANSFORMS.register_module()
class LoadCachedImage(LoadLazyImage):
    """``LoadImageFromFile`` from a decoded, memory-mapped copy.

    Each image is decoded once into the same uncompressed ``.npy`` cache as
    :class:`LoadLazyImage` (``cache_dir``), and the pipeline gets the real
    pixels, as an ``np.memmap`` of it: every transform works, and one that
    crops first (mmdet's ``RandomCrop``) reads only its crop from disk
    (the page cache), instead of decoding the whole large image for a small
    crop. Same arguments as :class:`LoadLazyImage`; 8-bit images only.
    """

    def transform(self, results: dict) -> dict:
        path = self.mapped_path(results['img_path'])
        img = np.load(path, mmap_mode='r')
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        results['ori_shape'] = img.shape[:2]
        return results
