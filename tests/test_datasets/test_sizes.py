"""Image sizes read without decoding, for MemoryBudgetHook's plan."""
import numpy as np
import pytest

from mmpatch.datasets.sizes import (header_size, largest_samples,
                                    sample_size)


def test_header_size_formats(tmp_path):
    import cv2
    cv2.imwrite(str(tmp_path / 'a.png'), np.zeros((48, 64, 3), np.uint8))
    np.save(tmp_path / 'b.npy', np.zeros((30, 20, 3), np.uint8))
    (tmp_path / 'c.png').write_bytes(b'not an image')
    assert header_size(str(tmp_path / 'a.png')) == (48, 64)
    assert header_size(str(tmp_path / 'b.npy')) == (30, 20)
    assert header_size(str(tmp_path / 'c.png')) is None
    assert header_size(str(tmp_path / 'missing.jpg')) is None


def test_header_size_past_pillows_bomb_limit(tmp_path, monkeypatch):
    """Pillow refuses to open images over 2 * MAX_IMAGE_PIXELS (about 179
    million pixels: a PANDA image is 400 million) with an error that is not
    an OSError; the header is read all the same, and the guard restored."""
    import cv2
    from PIL import Image
    cv2.imwrite(str(tmp_path / 'a.png'), np.zeros((48, 64, 3), np.uint8))
    monkeypatch.setattr(Image, 'MAX_IMAGE_PIXELS', 100)
    with pytest.raises(Image.DecompressionBombError):
        Image.open(str(tmp_path / 'a.png'))
    assert header_size(str(tmp_path / 'a.png')) == (48, 64)
    assert Image.MAX_IMAGE_PIXELS == 100


def test_sample_size_prefers_the_annotation(tmp_path):
    assert sample_size(dict(height=7, width=9, img_path='x.png')) == (7, 9)
    assert sample_size(dict(img_path=None)) is None


def test_largest_samples_by_cells_then_area():
    sizes = [(64, 192), None, (65, 65), (10, 10)]
    # by area: 64x192 first; by 64 px grid cells: 65x65 has 4, 64x192 3
    assert largest_samples(sizes, 2) == [0, 2]
    assert largest_samples(sizes, 2, (64, 64)) == [2, 0]
    assert largest_samples(sizes, 9, (64, 64))[-1] == 1  # unknown last
    assert largest_samples([None], 0) == [0]
