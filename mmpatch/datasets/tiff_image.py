"""TIFF, BigTIFF and OME-TIFF images read region by region, never whole.

Pathology slides and remote-sensing scenes (20k-100k px a side) do not fit
in memory decoded (a 50k x 50k RGB image is 7 GiB). Such files are tiled
(or stripped) and compressed tile by tile, which is what lets a reader
decode only the tiles a region touches. :class:`TiffImage` does that with
``tifffile`` (its page's tile offsets and its ``TiffPage.decode``): it is a
drop-in for :class:`~mmpatch.datasets.pixels.MappedImage` (``shape``,
``channels``, ``read``, flips), so ``LoadLazyImage`` hands a TIFF straight
to the patch grid without the ``.npy`` cache, and every patch and band of
the global patch decodes only its own tiles. Where the file holds a pyramid
(OME-TIFF SubIFDs, or reduced pages of the first series),
:meth:`TiffImage.level_for` names the smallest level at least as large as a
requested size, which the global patch can be resized from
(:meth:`TiffImage.read_level`).

Colour: the first 3 samples (or the single one) of each pixel, reversed to
BGR for 3-sample images, as ``LoadImageFromFile`` (OpenCV) would give them;
8-bit samples only.
"""
import threading
from typing import List, Optional, Tuple, Union

import numpy as np

from .pixels import _FLIPS, MappedImage, flip_region, stored_window

#: file suffixes read by TiffImage
TIFF_SUFFIXES = ('.tif', '.tiff', '.btf', '.tf8', '.ome.tif', '.ome.tiff')


def is_tiff(path: str) -> bool:
    return str(path).lower().endswith(TIFF_SUFFIXES)


class TiffImage:
    """One TIFF page (the first series' full-resolution level), read by
    region.

    Args:
        path (str): a TIFF / BigTIFF / OME-TIFF file, 8-bit, 1, 3 or 4
            samples a pixel, chunky (interleaved) samples.
        flip_direction (str, optional): as :class:`MappedImage`.

    Memory: a read decodes the tiles (or strips) the window touches, one at
    a time, and copies their overlap into the output; the file is opened
    once and read through its own handle (one lock per image, so the
    reads of one image do not interleave).
    """

    def __init__(self, path: str, flip_direction: Optional[str] = None) -> None:
        import tifffile
        if flip_direction not in _FLIPS:
            raise ValueError(
                f'{path}: unknown flip direction {flip_direction!r}; '
                f'expected one of {sorted(k for k in _FLIPS if k)} or None')
        try:
            self._file = tifffile.TiffFile(path)
        except Exception as exc:  # tifffile raises several kinds
            raise ValueError(f'cannot read the TIFF image {path}: {exc}. It '
                             'must be a TIFF, BigTIFF or OME-TIFF file') from exc
        series = self._file.series[0]
        self._levels = [lvl.pages[0] for lvl in series.levels]
        page = self._levels[0]
        self._check(path, page)
        self.path = path
        self.flip_direction = flip_direction
        self._page = page
        self._lock = threading.Lock()

    @staticmethod
    def _check(path: str, page) -> None:
        samples = page.samplesperpixel
        if page.dtype != np.uint8 or samples not in (1, 3, 4) or (
                samples > 1 and page.planarconfig != 1):
            raise ValueError(
                f'{path}: a {page.dtype} TIFF with {samples} samples a pixel '
                f'(planar configuration {page.planarconfig}); TiffImage '
                'reads 8-bit images with 1, 3 or 4 interleaved samples. '
                'Convert it (e.g. tifffile.imwrite(..., tile=(512, 512)) of '
                'an (h, w, 3) uint8 array) or load it with LoadImageFromFile')

    @property
    def shape(self) -> Tuple[int, int]:
        """``(h, w)`` of the full-resolution level."""
        return int(self._page.imagelength), int(self._page.imagewidth)

    @property
    def channels(self) -> int:
        return 1 if self._page.samplesperpixel == 1 else 3

    @property
    def reads_by_region(self) -> bool:
        """Whether a region decodes less than the whole image: tiled, or
        more than one strip."""
        page = self._page
        return bool(page.is_tiled or int(page.rowsperstrip) <
                    int(page.imagelength))

    @property
    def level_shapes(self) -> List[Tuple[int, int]]:
        """``(h, w)`` of each pyramid level, full resolution first."""
        return [(int(p.imagelength), int(p.imagewidth)) for p in self._levels]

    def level_for(self, size: Tuple[int, int]) -> int:
        """The smallest level whose sides are at least ``size``'s (0 when
        no reduced level is large enough)."""
        fits = [i for i, (h, w) in enumerate(self.level_shapes)
                if h >= size[0] and w >= size[1]]
        return max(fits) if fits else 0

    def read(self, y0: int, y1: int, x0: int, x1: int) -> np.ndarray:
        """Pixels ``[y0:y1, x0:x1]`` of the (flipped) full-resolution
        level, ``(C, y1 - y0, x1 - x0)`` uint8 (BGR), a fresh array."""
        y0, y1, x0, x1 = stored_window(self, y0, y1, x0, x1)
        return flip_region(self._region(self._page, y0, y1, x0, x1),
                           self.flip_direction)

    def read_level(self, level: int) -> np.ndarray:
        """A whole pyramid level, ``(C, h_l, w_l)`` uint8, flipped as the
        image is."""
        page = self._levels[level]
        return flip_region(self._region(page, 0, int(page.imagelength), 0,
                                        int(page.imagewidth)),
                           self.flip_direction)

    def _region(self, page, y0: int, y1: int, x0: int,
                x1: int) -> np.ndarray:
        """``(C, y1 - y0, x1 - x0)``: the segments (tiles or strips) that
        overlap the window, decoded one at a time."""
        out = np.zeros((y1 - y0, x1 - x0, self.channels), np.uint8)
        if y1 <= y0 or x1 <= x0:
            return out.transpose(2, 0, 1)
        if page.is_tiled:
            th, tw = int(page.tilelength), int(page.tilewidth)
        else:
            th, tw = int(page.rowsperstrip), int(page.imagewidth)
        th = min(th, int(page.imagelength))
        cols = -(-int(page.imagewidth) // tw)
        fh = self._file.filehandle
        for ty in range(y0 // th, (y1 - 1) // th + 1):
            for tx in range(x0 // tw, (x1 - 1) // tw + 1):
                index = ty * cols + tx
                with self._lock:
                    fh.seek(page.dataoffsets[index])
                    data = fh.read(page.databytecounts[index])
                seg, at, _ = page.decode(data, index)
                seg = seg.reshape(seg.shape[-3:])  # (th, tw, samples)
                sy, sx = int(at[-3]), int(at[-2])
                ay, by = max(y0, sy), min(y1, sy + seg.shape[0])
                ax, bx = max(x0, sx), min(x1, sx + seg.shape[1])
                part = seg[ay - sy:by - sy, ax - sx:bx - sx]
                out[ay - y0:by - y0, ax - x0:bx - x0] = (
                    part[..., 2::-1] if self.channels == 3 else part[..., :1])
        return out.transpose(2, 0, 1)

    def close(self) -> None:
        self._file.close()

    def __repr__(self) -> str:
        h, w = self.shape
        flip = f', flip={self.flip_direction!r}' if self.flip_direction else ''
        return (f'TiffImage({self.path!r}, {h}x{w}x{self.channels}, '
                f'{len(self._levels)} levels{flip})')


def open_image(path: str, flip_direction: Optional[str] = None
               ) -> Union[MappedImage, TiffImage]:
    """The reader of a lazily loaded image: a TIFF by region, anything else
    as a memory-mapped ``.npy`` array."""
    if is_tiff(path):
        return TiffImage(path, flip_direction)
    return MappedImage(path, flip_direction)
