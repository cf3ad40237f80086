"""tools/dataset_converters/panda.py on small pyramid TIFFs written here."""
import csv
import importlib.util
import json
import re
import sys
import os.path as osp

import cv2
import numpy as np
import pytest

tifffile = pytest.importorskip('tifffile')

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def load_converter():
    folder = osp.join(REPO, 'tools', 'dataset_converters')
    path = osp.join(folder, 'panda.py')
    # as when it runs as a script: its folder first on sys.path, for its
    # sibling module panda_slides.py
    if folder not in sys.path:
        sys.path.insert(0, folder)
    spec = importlib.util.spec_from_file_location('panda_converter', path)
    mod = importlib.util.module_from_spec(spec)
    # registered, so that --workers can pickle its functions
    sys.modules['panda_converter'] = mod
    spec.loader.exec_module(mod)
    return mod


panda = load_converter()

# level i of every slide is filled with this RGB colour, so an output pixel
# tells which level the converter read
LEVEL_RGB = [(200, 40, 40), (40, 200, 40), (40, 40, 200)]


def write_slide(path, hw, layout):
    """A 3-level RGB pyramid (full, 1/2, 1/4) as PANDA-like tiled TIFF."""
    levels = []
    for i, rgb in enumerate(LEVEL_RGB):
        h, w = hw[0] >> i, hw[1] >> i
        levels.append(np.broadcast_to(np.array(rgb, np.uint8),
                                      (h, w, 3)).copy())
    kw = dict(photometric='rgb', tile=(16, 16))
    with tifffile.TiffWriter(path) as tif:
        if layout == 'subifds':  # a proper pyramid: SubIFDs of level 0
            tif.write(levels[0], subifds=2, **kw)
            for lv in levels[1:]:
                tif.write(lv, subfiletype=1, **kw)
        else:  # plain pages, no reduced-resolution flag
            for lv in levels:
                tif.write(lv, **kw)


# image_id, grade, level-0 (h, w), layout
SLIDES = [
    ('a01', 0, (608, 304), 'subifds'),
    ('b02', 1, (320, 640), 'pages'),
    ('c03', 2, (512, 512), 'subifds'),
    ('d04', 3, (256, 128), 'pages'),
    ('e05', 4, (640, 320), 'subifds'),
    ('f06', 5, (96, 192), 'pages'),
    ('g07', 1, (400, 200), 'subifds'),
]


@pytest.fixture
def panda_root(tmp_path):
    root = tmp_path / 'panda'
    (root / 'train_images').mkdir(parents=True)
    with open(root / 'train.csv', 'w', newline='') as f:
        w = csv.writer(f)
        w.writerow(['image_id', 'data_provider', 'isup_grade',
                    'gleason_score'])
        for image_id, grade, hw, layout in SLIDES:
            w.writerow([image_id, 'karolinska', grade, '3+3'])
            write_slide(str(root / 'train_images' / f'{image_id}.tiff'), hw,
                        layout)
    return root


def read_meta(out):
    meta = {}
    for name in ('train', 'val', 'test'):
        with open(osp.join(out, 'meta', f'{name}.txt')) as f:
            meta[name] = [line.split() for line in f.read().splitlines()]
    return meta


def rgb(out, image_id):
    img = cv2.imread(osp.join(out, 'images', f'{image_id}.png'))
    assert img is not None
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def test_levels_are_found(panda_root):
    for image_id, _, (h, w), _ in SLIDES[:2]:
        path = str(panda_root / 'train_images' / f'{image_id}.tiff')
        with tifffile.TiffFile(path) as tif:
            sizes = [s.shape[:2] for s in panda.pyramid_levels(tif)]
        assert sizes == [(h, w), (h // 2, w // 2), (h // 4, w // 4)]


def test_choose_level():
    sizes = [(600, 300), (300, 150), (150, 75)]
    assert panda.choose_level(sizes, 128) == 2
    assert panda.choose_level(sizes, 150) == 2
    assert panda.choose_level(sizes, 151) == 1
    assert panda.choose_level(sizes, 300) == 1
    assert panda.choose_level(sizes, 301) == 0
    assert panda.choose_level(sizes, 5000) == 0  # none fits: the largest
    # stretching needs the shorter side
    assert panda.choose_level(sizes, 128, pad=False) == 1


def test_convert(panda_root, tmp_path):
    out = str(tmp_path / 'out')
    logs = []
    counts = panda.convert(str(panda_root), out, size=128, log=logs.append)
    # 7 rows < 10616: the default split is scaled proportionally
    assert counts == dict(train=5, val=1, test=1)
    assert any('proportionally' in m for m in logs)
    meta = read_meta(out)
    grades = {s[0]: s[1] for s in SLIDES}
    listed = [name for split in meta.values() for name, _ in split]
    assert sorted(listed) == sorted(f'{i}.png' for i in grades)
    for split in meta.values():
        for name, label in split:
            assert int(label) == grades[name[:-4]]
    # the smallest level whose longer side is >= 128
    expect = {'a01': 2, 'b02': 2, 'c03': 2, 'd04': 1, 'e05': 2, 'f06': 0,
              'g07': 1}
    for image_id, _, (h, w), _ in SLIDES:
        img = rgb(out, image_id)
        assert img.shape == (128, 128, 3)
        centre = img[64, 64]
        np.testing.assert_array_equal(centre, LEVEL_RGB[expect[image_id]])
        if h != w:  # padded with white along the shorter side
            edge = img[:, 0] if h > w else img[0]
            assert (edge == 255).all()
        else:
            assert (img != 255).all()
    with open(osp.join(out, 'meta', 'classes.txt')) as f:
        assert f.read().split() == ['0', '1', '2', '3', '4', '5']
    with open(osp.join(out, 'meta', 'panda.json')) as f:
        assert json.load(f)['split'] == [5, 1, 1]


def test_deterministic_and_seeded(panda_root, tmp_path):
    outs = [str(tmp_path / n) for n in ('o1', 'o2', 'o3')]
    panda.convert(str(panda_root), outs[0], size=64, split=(3, 2, 2),
                  log=lambda m: None)
    panda.convert(str(panda_root), outs[1], size=64, split=(3, 2, 2),
                  workers=2, log=lambda m: None)
    assert read_meta(outs[0]) == read_meta(outs[1])
    assert [len(v) for v in read_meta(outs[0]).values()] == [3, 2, 2]
    for image_id, *_ in SLIDES:
        np.testing.assert_array_equal(rgb(outs[0], image_id),
                                      rgb(outs[1], image_id))
    # another seed, another split (of the same slides)
    splits = set()
    for seed in range(4):
        counts = panda.convert(str(panda_root), outs[2], size=64,
                               split=(3, 2, 2), seed=seed,
                               log=lambda m: None)
        assert counts == dict(train=3, val=2, test=2)
        splits.add(json.dumps(read_meta(outs[2])))
    assert len(splits) > 1


def test_cli_subset_and_stretch(panda_root, tmp_path, capsys):
    out = str(tmp_path / 'cli')
    panda.main([str(panda_root), out, '--size', '64', '--split', '2', '1',
                '1', '--no-pad'])
    printed = capsys.readouterr().out
    assert 'leaves 3 out' in printed
    assert 'wrote 2 train, 1 val and 1 test images of 64x64' in printed
    meta = read_meta(out)
    assert [len(v) for v in meta.values()] == [2, 1, 1]
    for name, _ in meta['train']:
        img = rgb(out, name[:-4])
        assert img.shape == (64, 64, 3) and (img != 255).all()  # no padding
    # the folder now holds 64 px stretched images: a different size stops
    with pytest.raises(ValueError, match='--overwrite'):
        panda.convert(str(panda_root), out, size=32, log=lambda m: None)


def test_clear_errors(panda_root, tmp_path):
    out = str(tmp_path / 'err')
    with pytest.raises(FileNotFoundError, match='train.csv'):
        panda.convert(str(tmp_path / 'nowhere'), out)
    missing = panda_root / 'train_images' / 'c03.tiff'
    missing.unlink()
    with pytest.raises(FileNotFoundError, match=re.escape(str(missing))):
        panda.convert(str(panda_root), out, size=64)
    counts = panda.convert(str(panda_root), out, size=64, split=(4, 1, 1),
                           skip_missing=True, log=lambda m: None)
    assert sum(counts.values()) == 6
    broken = panda_root / 'train_images' / 'a01.tiff'
    broken.write_bytes(b'this is not a TIFF file')
    with pytest.raises(ValueError, match='cannot read the TIFF slide .*'
                       'a01.tiff'):
        panda.convert(str(panda_root), out, size=64, skip_missing=True,
                      overwrite=True, log=lambda m: None)
    with open(panda_root / 'train.csv', 'a') as f:
        f.write('h08,radboud,7,5+5\n')
    with pytest.raises(ValueError, match='isup_grade'):
        panda.convert(str(panda_root), out, size=64)
