"""Deferred normalisation: keep the batch in uint8, normalise patch by patch.

A host library's data preprocessor turns the uint8 images of a batch into one
normalised float32 tensor: 4 bytes per pixel and channel, held for the whole
step, on top of the uint8 images the dataloader already holds. On a 4096²
RGB image that is 192 MiB, more than the latent buffer Z of FCOS-R50. PatchGD
never needs the normalised whole image at once: θ1 reads one patch at a time
and the global patch is a small resize. :class:`DeferredNormalization` keeps
the stacked batch in uint8 (1 byte per pixel and channel) and leaves the
normalisation to :class:`~mmpatch.patchgd.PatchGrid`, which applies
:meth:`DeferredNormalization.normalize_patch` to each patch it reads.
"""
from contextlib import contextmanager
from typing import Dict, Iterator, List, Optional, Tuple

import torch
from mmengine.utils import is_seq_of
from torch import Tensor

from mmpatch.datasets.pixels import LAZY_KEY, MappedBatch, MappedImage
from mmpatch.datasets.tiff_image import open_image


class DeferredNormalization:
    """Mixin for a host data preprocessor: stack and pad, but stay uint8.

    Mix it in front of the host class (``class P(DeferredNormalization,
    DetDataPreprocessor)``) and name the host's switches in
    :attr:`host_flags`. For a batch of uint8 images, :meth:`forward` runs the
    host's own ``forward`` on zero-channel stand-ins of the images, so every
    piece of metadata the host writes (``img_shape``, ``pad_shape``,
    ``batch_input_shape``, padded ``gt_sem_seg``, ...) comes from the host
    itself, and then lays the uint8 pixels into a batch of the padded shape
    the host produced: ``(B, C, H, W)`` uint8, zero in the padding.

    A batch from ``LoadLazyImage`` (zero-channel stand-ins whose data
    samples name a ``lazy_image``) becomes a
    :class:`~mmpatch.datasets.pixels.MappedBatch` of that padded shape
    instead: the pixels stay on disk until the patch grid reads them.

    The model reads pixels through :meth:`normalize_patch` (channel order and
    ``(x - mean) / std``, exactly as the host would), and zeroes whatever
    lies outside each image's ``img_shape``, which is what the host's padding
    with ``pad_value = 0`` gives. A stacked uint8 batch (``default_collate``)
    is taken as its images; any other input (float tensors) goes to the host
    unchanged.

    Args: those of the host class; its padding value must be 0.
    """

    #: names of the host's attributes: channel flip, normalise switch, pad
    #: value; set by each subclass
    host_flags: Dict[str, str] = dict(
        to_rgb='_channel_conversion',
        normalize='_enable_normalize',
        pad_value='pad_value')

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        pad = getattr(self, self.host_flags['pad_value'], 0)
        if pad != 0:
            raise ValueError(
                f'{type(self).__name__}: {self.host_flags["pad_value"]}='
                f'{pad!r} is not supported: the padding must be 0 after '
                'normalisation, which is what the patch grid writes. Leave it '
                f'at 0, or use the host library\'s own data preprocessor')
        if getattr(self, 'batch_augments', None) is not None:
            raise ValueError(
                f'{type(self).__name__} does not run batch_augments: they '
                'need the whole normalised float batch, which this '
                'preprocessor never builds. Remove batch_augments, or use the '
                "host library's own data preprocessor")

    @property
    def _to_rgb(self) -> bool:
        return bool(getattr(self, self.host_flags['to_rgb']))

    @property
    def _normalizes(self) -> bool:
        return bool(getattr(self, self.host_flags['normalize']))

    @contextmanager
    def _shape_only(self) -> Iterator[None]:
        """The host's pixel operations off, for zero-channel stand-ins."""
        names = (self.host_flags['to_rgb'], self.host_flags['normalize'])
        saved = [getattr(self, n) for n in names]
        for n in names:
            setattr(self, n, False)
        try:
            yield
        finally:
            for n, value in zip(names, saved):
                setattr(self, n, value)

    def forward(self, data: dict, training: bool = False) -> dict:
        """The host's ``forward``, with ``inputs`` left uint8 ``(B, C, H, W)``.
        """
        data = self.cast_data(data)
        images = data['inputs']
        if (isinstance(images, Tensor) and images.dtype == torch.uint8
                and images.dim() == 4):
            # default_collate's stacked batch: its images, as views
            images = list(images.unbind(0))
        mapped = _mapped_images(images, data.get('data_samples'))
        if mapped is not None:
            standins = [
                img.new_empty((0, *img.shape[1:]), dtype=torch.float32)
                for img in images
            ]
            with self._shape_only():
                out = super().forward(dict(data, inputs=standins), training)
            out['inputs'] = MappedBatch(mapped,
                                        tuple(out['inputs'].shape[-2:]),
                                        out['inputs'].device)
            return out
        if not (is_seq_of(images, Tensor)
                and all(img.dtype == torch.uint8 and img.dim() == 3
                        for img in images)):
            return super().forward(data, training)
        standins = [img.new_empty((0, *img.shape[1:]), dtype=torch.float32)
                    for img in images]
        with self._shape_only():
            out = super().forward(dict(data, inputs=standins), training)
        out['inputs'] = stack_uint8(images, tuple(out['inputs'].shape[-2:]))
        return out

    def normalize_patch(self, x: Tensor) -> Tensor:
        """What the host does to pixels, on a part of the batch.

        Args:
            x (Tensor): ``(N, C, h, w)`` uint8 pixels (or float pixels on the
                0..255 scale, e.g. a resized global patch).

        Returns:
            Tensor: ``(N, C, h, w)`` in the model's floating dtype.
        """
        if self._to_rgb and x.shape[1] == 3:
            x = x[:, [2, 1, 0]]
        if not self._normalizes:
            return x.to(torch.get_default_dtype())
        mean, std = self.mean, self.std
        return (x.to(mean.dtype) - mean) / std


def _mapped_images(images, data_samples) -> Optional[List[MappedImage]]:
    """The mapped images of a ``LoadLazyImage`` batch, None for any other.

    Raises a clear error for stand-ins without a mapped file, and for a
    stand-in whose shape a transform changed after ``LoadLazyImage``.
    """
    if not (is_seq_of(images, Tensor) and images
            and all(img.dim() == 3 and img.shape[0] == 0 for img in images)):
        return None
    metas = [getattr(s, 'metainfo', {}) for s in (data_samples or [])]
    if len(metas) != len(images) or not all(LAZY_KEY in m for m in metas):
        raise ValueError(
            'the batch\'s images have no pixels (0 channels), as '
            f'LoadLazyImage gives them, but the data samples carry no '
            f'{LAZY_KEY!r} to read them from: add {LAZY_KEY!r} to the '
            'meta_keys of the pipeline\'s Pack*Inputs (mmpatch.datasets.'
            'lazy_image.LAZY_META_KEYS)')
    out = []
    for img, meta in zip(images, metas):
        direction = meta.get('flip_direction') if meta.get('flip') else None
        mapped = open_image(meta[LAZY_KEY], direction)
        if mapped.shape != tuple(img.shape[1:]):
            raise ValueError(
                f'{meta.get("img_path", meta[LAZY_KEY])}: the pipeline '
                f'made the image {tuple(img.shape[1:])} after LoadLazyImage '
                f'read it as {mapped.shape} ({meta[LAZY_KEY]}). The pixels '
                'are read from the stored image, so only flips may change '
                'it: remove the resizing, cropping or padding transform, or '
                'load with LoadImageFromFile')
        out.append(mapped)
    return out


def stack_uint8(images: Tuple[Tensor, ...], shape: Tuple[int, int]) -> Tensor:
    """``(C, h_i, w_i)`` uint8 images -> ``(B, C, H, W)``, zero-padded at the
    bottom/right as the host libraries pad.

    One image that already has the batch shape is returned as a view, not
    copied: the dataloader still holds it.
    """
    H, W = shape
    if len(images) == 1 and tuple(images[0].shape[-2:]) == (H, W):
        return images[0][None]
    C = images[0].shape[0]
    batch = images[0].new_zeros((len(images), C, H, W))
    for i, img in enumerate(images):
        batch[i, :, :img.shape[1], :img.shape[2]] = img
    return batch
