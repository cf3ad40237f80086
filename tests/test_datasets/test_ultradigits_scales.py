"""UltraDigits-scales (``mmpatch.datasets.ultradigits_scales``)."""
import json
import os
import os.path as osp

import numpy as np
import pytest

from mmpatch.datasets.digit_canvas import load_digit_bank
from mmpatch.datasets.ultradigits_scales import (
    DEFAULTS, _spec, generate_ultradigits_scales, render_scales_canvas,
    ultradigits_scales_up_to_date)

SMALL = dict(seed=2, canvas_size=256, num_train=6, num_val=2, num_test=2,
             tiny=(4, 6), medium=(2, 3))


def _bytes(root):
    out = {}
    for d, _, names in os.walk(root):
        for n in names:
            with open(osp.join(d, n), 'rb') as f:
                out[osp.relpath(osp.join(d, n), root)] = f.read()
    return out


@pytest.fixture(scope='module')
def small(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('uds'))
    return root, generate_ultradigits_scales(root, **SMALL)


def test_deterministic_and_stamped(small, tmp_path):
    root, _ = small
    other = str(tmp_path / 'again')
    generate_ultradigits_scales(other, **SMALL)
    assert _bytes(root) == _bytes(other)
    assert ultradigits_scales_up_to_date(root, **SMALL)
    assert not ultradigits_scales_up_to_date(root, **dict(SMALL, seed=3))
    os.remove(osp.join(root, 'images', 'val', '000001.png'))
    assert not ultradigits_scales_up_to_date(root, **SMALL)
    generate_ultradigits_scales(root, **SMALL)  # restore for the others


def test_coco_boxes_inside_and_groups(small):
    root, summary = small
    for split, n in (('train', 6), ('val', 2), ('test', 2)):
        path = osp.join(root, 'annotations', f'instances_{split}.json')
        with open(path) as f:
            coco = json.load(f)
        assert len(coco['images']) == n
        assert {a['size_group'] for a in coco['annotations']} == {
            'tiny', 'medium', 'huge'}
        for a in coco['annotations']:
            x, y, w, h = a['bbox']
            assert a['id'] >= 1 and a['image_id'] >= 1
            assert 0 <= x and 0 <= y and x + w <= 256 and y + h <= 256
            assert a['area'] == w * h > 0
    assert summary['splits']['test']['groups']['huge'] == 2


def test_strokes_inside_tight_boxes_and_size_ranges():
    """Render with the instance map: each digit's strokes lie in its box and
    touch all four sides; square sides stay in their group's range."""
    _, hw, _, spec = _spec(canvas_size=(300, 400), tiny=(6, 8))
    bank = load_digit_bank('train')
    for idx in range(3):
        rng = np.random.default_rng([0, 0, idx])
        image, digits, inst = render_scales_canvas(rng, bank, hw, spec,
                                                   instance_map=True)
        assert image.shape == (300, 400, 3) and image.dtype == np.uint8
        for i, d in enumerate(digits):
            ys, xs = np.nonzero(inst == i + 1)
            x, y, w, h = d['bbox']
            assert (xs.min(), ys.min()) == (x, y)
            assert (xs.max() + 1, ys.max() + 1) == (x + w, y + h)
            side = d['square'][2]
            lo, hi = {'tiny': (10, 24), 'medium': (24, 90),
                      'huge': (195, 240)}[d['group']]
            assert lo <= side <= hi, d


def test_default_sizes_span_10px_to_60_percent():
    """The default recipe on a 1024 px canvas: tiny, medium and huge digits
    coexist, from ~10 px to 80 % of the side (squares; tight boxes ~0.8 of
    a square, so up to ~65 %), balanced classes."""
    _, hw, _, spec = _spec()
    assert hw == (1024, 1024) and DEFAULTS['huge_frac'] == (0.65, 0.8)
    from mmpatch.datasets.ultradigits_scales import group_sizes
    sides = {g: [] for g in ('tiny', 'medium', 'huge')}
    for idx in range(200):
        for g, s in group_sizes(np.random.default_rng(idx), hw, spec):
            sides[g].append(s)
    assert min(sides['tiny']) == 10 and max(sides['tiny']) == 24
    assert 24 <= min(sides['medium']) and max(sides['medium']) <= 307
    # huge squares above 0.625 L: their ~0.8 L boxes pass the 512 px crop
    assert 665 <= min(sides['huge']) and max(sides['huge']) <= 819
    assert max(sides['huge']) > 800


def test_classes_balanced(small):
    root, summary = small
    hist = np.sum([s['class_hist'] for s in summary['splits'].values()], 0)
    assert hist.min() > 0
    assert hist.max() <= 2 * hist.min(), hist


def test_cli_up_to_date(tmp_path):
    import subprocess
    import sys
    out = str(tmp_path / 'cli')
    cmd = [sys.executable, 'tools/make_ultradigits_scales.py', '--out', out,
           '--size', '128', '--size-w', '160', '--num-train', '1',
           '--num-val', '1', '--num-test', '1', '--tiny', '2', '2',
           '--medium', '1', '1']
    root = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
    first = subprocess.run(cmd, cwd=root, capture_output=True, text=True,
                           check=True)
    assert 'written' in first.stdout
    second = subprocess.run(cmd, cwd=root, capture_output=True, text=True,
                            check=True)
    assert 'up to date' in second.stdout
    with open(osp.join(out, 'annotations', 'instances_test.json')) as f:
        img = json.load(f)['images'][0]
    assert (img['height'], img['width']) == (128, 160)
