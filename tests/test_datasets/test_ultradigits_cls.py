"""UltraDigits-cls: files, labels, determinism and the up-to-date stamp."""
import os.path as osp

import numpy as np
import pytest

from mmpatch.datasets.ultradigits_cls import (ULTRADIGITS_CLS_CLASSES,
                                              generate_ultradigits_cls,
                                              render_cls_canvas,
                                              ultradigits_cls_up_to_date)

SMALL = dict(canvas_size=512, num_train=6, num_val=2, num_test=3)


@pytest.fixture(scope='module')
def root(tmp_path_factory):
    out = str(tmp_path_factory.mktemp('udcls'))
    summary = generate_ultradigits_cls(out, **SMALL)
    return out, summary


def test_files_and_labels(root):
    out, summary = root
    classes = open(osp.join(out, 'meta', 'classes.txt')).read().split()
    assert tuple(classes) == ULTRADIGITS_CLS_CLASSES
    for split, n in (('train', 6), ('val', 2), ('test', 3)):
        lines = open(osp.join(out, 'meta', f'{split}.txt')).read().split(
            '\n')[:-1]
        assert len(lines) == n
        labels = [int(line.split()[1]) for line in lines]
        assert labels == [i % 4 for i in range(n)]  # balanced, in turn
        hist = np.bincount(labels, minlength=4).tolist()
        assert summary['splits'][split]['label_hist'] == hist
        for line in lines:
            assert osp.isfile(osp.join(out, 'images', split, line.split()[0]))
    assert ultradigits_cls_up_to_date(out, **SMALL)
    assert not ultradigits_cls_up_to_date(out, **dict(SMALL, num_train=7))
    with pytest.raises(TypeError, match='cel'):
        ultradigits_cls_up_to_date(out, **dict(SMALL, cel=8))


def test_deterministic_and_labels_from_the_drawn_digits():
    from mmpatch.datasets import load_digit_bank
    bank = load_digit_bank('train')
    a = render_cls_canvas(np.random.default_rng([0, 0, 1]), bank, 2, 512)
    b = render_cls_canvas(np.random.default_rng([0, 0, 1]), bank, 2, 512)
    assert np.array_equal(a, b)
    assert a.shape == (512, 512, 3) and a.dtype == np.uint8
    with pytest.raises(ValueError, match='label must be in 0..3'):
        render_cls_canvas(np.random.default_rng(0), bank, 4, 512)
    # solid squares for one digit value, blank ones for the others: the
    # label's bits say which of the two kinds is drawn
    blank = np.zeros((1, 8, 8), np.float32)
    solid = np.full((1, 8, 8), 16.0, np.float32)

    def bright(bank, label, seed):
        img = render_cls_canvas(np.random.default_rng(seed), bank, label, 512)
        return int((img.astype(np.float32).mean(-1) > 130).sum())

    only_9 = {0: blank, 6: blank, 8: blank, 9: solid}
    only_8 = {0: blank, 6: blank, 8: solid, 9: blank}
    for seed in range(8):
        # the same seed draws the same background and places: the two
        # labels of a pair differ only in the digits' values
        # the large digit (300-400 px) is bit 1
        for small in (0, 1):
            assert bright(only_9, 2 + small, seed) - bright(
                only_9, small, seed) > 60000
        # the small digits (hundreds of 8-10 px squares) are bit 0
        for large in (0, 2):
            assert bright(only_8, large + 1, seed) - bright(
                only_8, large, seed) > 1000
            assert bright(only_9, large + 1, seed) == bright(
                only_9, large, seed)


def test_small_digits_differ_only_in_shape():
    """A 0 and an 8 have the same ink, centroid and spread once drawn."""
    from mmpatch.datasets import load_digit_bank, render_digit
    from mmpatch.datasets.ultradigits_cls import (SMALL_INK, SMALL_SIGMA,
                                                  normalize_moments)
    bank = load_digit_bank('train')
    s = 10
    yy, xx = np.mgrid[0:s, 0:s] - (s - 1) / 2
    for value in (0, 8):
        for digit in bank[value][:20]:
            a = normalize_moments(render_digit(digit, s)[0])
            ink = a.sum()
            assert ink == pytest.approx(SMALL_INK * s * s, rel=0.1)
            assert abs((a * xx).sum() / ink) < 0.15
            assert abs((a * yy).sum() / ink) < 0.15
            sx = np.sqrt((a * xx**2).sum() / ink)
            sy = np.sqrt((a * yy**2).sum() / ink)
            assert sx == pytest.approx(SMALL_SIGMA[0] * s, rel=0.15)
            assert sy == pytest.approx(SMALL_SIGMA[1] * s, rel=0.15)
    empty = np.zeros((s, s), np.float32)
    assert np.array_equal(normalize_moments(empty), empty)


def test_bad_sizes_are_refused(tmp_path):
    with pytest.raises(ValueError, match='below canvas_size=256'):
        generate_ultradigits_cls(str(tmp_path), canvas_size=256,
                                 large_size=(300, 400))
    with pytest.raises(ValueError, match='fits the lattice cell of 8 px'):
        generate_ultradigits_cls(str(tmp_path), cell=8)
