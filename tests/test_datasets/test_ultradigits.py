"""Tests of the UltraDigits generator (``mmpatch.datasets.ultradigits``)."""
import importlib.util
import json
import os
import os.path as osp
import subprocess
import sys

import cv2
import numpy as np
import pytest

from mmpatch.datasets import (ULTRADIGITS_CLASSES, ULTRADIGITS_SEG_CLASSES,
                              ULTRADIGITS_SEG_PALETTE, generate_ultradigits,
                              load_digit_bank, ultradigits_up_to_date)
from mmpatch.datasets.digit_canvas import (SPLITS, place_squares,
                                           render_digit, sample_digit_sizes,
                                           sample_digit_values)

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SMALL = dict(seed=3, canvas_size=256, num_train=6, num_val=3, num_test=3)
NONSQUARE = dict(
    seed=1, canvas_size=(320, 200), num_train=4, num_val=2, num_test=2)


def _files(root):
    """Relative path -> bytes of every file under ``root``."""
    out = {}
    for dirpath, _, names in os.walk(root):
        for name in names:
            path = osp.join(dirpath, name)
            with open(path, 'rb') as f:
                out[osp.relpath(path, root)] = f.read()
    return out


@pytest.fixture(scope='module')
def small(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('ud_small'))
    summary = generate_ultradigits(root, **SMALL)
    return root, summary


@pytest.fixture(scope='module')
def nonsquare(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('ud_nonsquare'))
    summary = generate_ultradigits(root, **NONSQUARE)
    return root, summary


def test_import_is_light():
    heavy = ('torch', 'mmengine', 'mmcv', 'mmdet', 'mmseg', 'mmpretrain',
             'sklearn')
    # mmpatch.datasets adds nothing heavy to what ``import mmpatch`` loads
    code = ('import sys, mmpatch; before = set(sys.modules); '
            'import mmpatch.datasets; '
            f'bad = [m for m in set(sys.modules) - before '
            f'if m.split(".")[0] in {heavy!r}]; '
            'assert not bad, bad')
    subprocess.run([sys.executable, '-c', code], check=True, cwd=REPO)
    # the generator as the CLI loads it (mmpatch.datasets without mmpatch)
    # needs none of them; scikit-learn is imported lazily, on first use
    path = osp.join(REPO, 'tools', 'make_ultradigits.py')
    code = ('import sys, importlib.util as u; '
            f's = u.spec_from_file_location("cli", {path!r}); '
            'm = u.module_from_spec(s); s.loader.exec_module(m); '
            'assert m.load_generator().generate_ultradigits; '
            f'bad = [m for m in sys.modules if m.split(".")[0] in {heavy!r}]; '
            'assert not bad, bad')
    subprocess.run([sys.executable, '-c', code], check=True, cwd=REPO)


def test_deterministic(small, tmp_path):
    root, _ = small
    again = str(tmp_path / 'again')
    generate_ultradigits(again, **SMALL)
    first, second = _files(root), _files(again)
    assert sorted(first) == sorted(second)
    for rel in first:
        assert first[rel] == second[rel], rel

    other = str(tmp_path / 'other')
    generate_ultradigits(other, **dict(SMALL, seed=SMALL['seed'] + 1))
    third = _files(other)
    assert sorted(third) == sorted(first)
    for split in SPLITS:
        rel = osp.join('images', split, '000000.png')
        assert third[rel] != first[rel]


def test_split_does_not_depend_on_other_split_sizes(small, tmp_path):
    root, _ = small
    more = str(tmp_path / 'more')
    generate_ultradigits(more, **dict(SMALL, num_train=2, num_test=1))
    for split, num in (('val', SMALL['num_val']), ('train', 2)):
        for idx in range(num):
            rel = osp.join('images', split, f'{idx:06d}.png')
            with open(osp.join(root, rel), 'rb') as f1, \
                    open(osp.join(more, rel), 'rb') as f2:
                assert f1.read() == f2.read()


def _check_layout(root, summary, canvas_hw, max_size, min_size=16):
    from pycocotools.coco import COCO
    h, w = canvas_hw
    for split in SPLITS:
        num = summary['args'][f'num_{split}']
        coco = COCO(osp.join(root, 'annotations', f'instances_{split}.json'))
        assert sorted(coco.getCatIds()) == list(range(10))
        assert [c['name'] for c in coco.loadCats(coco.getCatIds())] == \
            list(ULTRADIGITS_CLASSES)
        assert sorted(coco.getImgIds()) == list(range(1, num + 1))
        ann_ids = coco.getAnnIds()
        assert min(ann_ids) == 1 and len(set(ann_ids)) == len(ann_ids)

        with open(osp.join(root, 'meta', f'{split}.txt')) as f:
            lines = [line.split() for line in f.read().splitlines()]
        assert len(lines) == num
        assert len(os.listdir(osp.join(root, 'images', split))) == num
        assert len(os.listdir(osp.join(root, 'masks', split))) == num

        for img_id, (fname, label) in zip(range(1, num + 1), lines):
            info = coco.loadImgs(img_id)[0]
            assert info['file_name'] == fname
            assert (info['height'], info['width']) == (h, w)
            img = cv2.imread(
                osp.join(root, 'images', split, fname), cv2.IMREAD_UNCHANGED)
            mask = cv2.imread(
                osp.join(root, 'masks', split, fname), cv2.IMREAD_UNCHANGED)
            assert img.shape == (h, w, 3) and img.dtype == np.uint8
            assert mask.shape == (h, w) and mask.dtype == np.uint8
            assert set(np.unique(mask)) <= {0, 1}

            anns = coco.loadAnns(coco.getAnnIds(imgIds=[img_id]))
            assert 3 <= len(anns) <= 5
            digits = [a['category_id'] for a in anns]
            assert all(0 <= d <= 9 for d in digits)
            assert int(label) == sum(digits) and 0 <= int(label) <= 9

            owners = np.zeros((h, w), np.int32)
            for a in anns:
                assert a['iscrowd'] == 0
                assert all(isinstance(v, float) for v in a['bbox'])
                x, y, bw, bh = (int(v) for v in a['bbox'])
                assert (x, y, bw, bh) == tuple(a['bbox'])
                assert x >= 0 and y >= 0 and bw > 0 and bh > 0
                assert x + bw <= w and y + bh <= h
                assert a['area'] == bw * bh
                assert max(bw, bh) <= max_size
                assert max(bw, bh) >= min_size // 2
                owners[y:y + bh, x:x + bw] += 1
                inside = mask[y:y + bh, x:x + bw]
                # tight: every border row/column of the box holds a stroke
                assert inside[0].any() and inside[-1].any()
                assert inside[:, 0].any() and inside[:, -1].any()
            # boxes are disjoint and together cover every stroke pixel
            assert owners.max() == 1
            assert np.all(owners[mask == 1] == 1)
            # strokes are brighter than the background on average
            gray = img.mean(axis=2)
            assert gray[mask == 1].mean() > gray[mask == 0].mean() + 60


def test_layout_and_annotations(small):
    root, summary = small
    _check_layout(root, summary, (256, 256), max_size=64)
    with open(osp.join(root, 'meta', 'classes.txt')) as f:
        assert f.read().split() == list(ULTRADIGITS_CLASSES)


def test_nonsquare_canvas(nonsquare):
    root, summary = nonsquare
    assert summary['args']['canvas_size'] == [320, 200]
    _check_layout(root, summary, (320, 200), max_size=50)


def test_summary_and_stamp(small):
    root, summary = small
    with open(osp.join(root, 'meta', 'ultradigits.json')) as f:
        stamp = json.load(f)
    assert stamp['args'] == summary['args']
    assert stamp['format_version'] == 1
    for split in SPLITS:
        info = summary['splits'][split]
        assert info['num_images'] == SMALL[f'num_{split}']
        assert sum(info['label_hist']) == info['num_images']
    assert ultradigits_up_to_date(root, **SMALL)
    assert not ultradigits_up_to_date(root, **dict(SMALL, seed=0))
    assert not ultradigits_up_to_date(root, **dict(SMALL, num_val=4))
    # the defaults are generate_ultradigits' own; a misspelt one is named
    assert not ultradigits_up_to_date(root)
    with pytest.raises(TypeError, match='num_trian'):
        ultradigits_up_to_date(root, num_trian=4)


def test_cocoeval_accepts_category_zero(small):
    """GT boxes scored as detections give AP 1 (category id 0 included)."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval
    root, _ = small
    gt = COCO(osp.join(root, 'annotations', 'instances_train.json'))
    dets = [
        dict(
            image_id=a['image_id'],
            category_id=a['category_id'],
            bbox=a['bbox'],
            score=1.0) for a in gt.dataset['annotations']
    ]
    assert any(d['category_id'] == 0 for d in dets)
    ev = COCOeval(gt, gt.loadRes(dets), 'bbox')
    ev.params.areaRng = [[0, 1e10]] * 4
    ev.evaluate()
    ev.accumulate()
    ev.summarize()
    assert ev.stats[0] == pytest.approx(1.0)


def test_sampling_helpers():
    rng = np.random.default_rng(0)
    for _ in range(300):
        n = int(rng.integers(3, 6))
        values = sample_digit_values(rng, n)
        assert len(values) == n and values.min() >= 0 and values.sum() <= 9
        sizes = sample_digit_sizes(rng, n, 16, 256)
        assert sizes.min() >= 16 and sizes.max() <= 256
        squares = place_squares(rng, sizes, (1024, 768), 16)
        for i, (x, y, s) in enumerate(squares):
            assert 0 <= x and x + s <= 768 and 0 <= y and y + s <= 1024
            for x2, y2, s2 in squares[i + 1:]:
                assert (x + s <= x2 or x2 + s2 <= x or y + s <= y2
                        or y2 + s2 <= y)
    # log-uniform: small digits are frequent
    sizes = sample_digit_sizes(rng, 10000, 16, 256)
    assert np.mean(sizes < 64) > 0.45


def test_digit_bank_and_render():
    full = load_digit_bank()
    assert sum(len(v) for v in full.values()) == 1797
    parts = [load_digit_bank(s) for s in SPLITS]
    for d in range(10):
        assert sum(len(p[d]) for p in parts) == len(full[d])
        assert all(len(p[d]) > 0 for p in parts)
    alpha, mask = render_digit(full[3][0], 16)
    assert alpha.shape == mask.shape == (16, 16)
    assert mask.any() and not mask[0].any() and not mask[:, 0].any()
    assert 0.0 <= alpha.min() and alpha.max() <= 1.0


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError):
        generate_ultradigits(str(tmp_path), canvas_size=48)
    with pytest.raises(ValueError):
        generate_ultradigits(str(tmp_path), digits_per_canvas=(5, 3))
    with pytest.raises(ValueError):
        generate_ultradigits(str(tmp_path), seed=-1)


def _load_cli():
    spec = importlib.util.spec_from_file_location(
        'make_ultradigits', osp.join(REPO, 'tools', 'make_ultradigits.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_cli_stamp(tmp_path, capsys):
    cli = _load_cli()
    out = str(tmp_path / 'cli')
    argv = [
        '--out', out, '--seed', '2', '--size', '200', '--size-w', '160',
        '--num-train', '2', '--num-val', '1', '--num-test', '1'
    ]
    assert cli.main(argv) == 0
    assert 'written' in capsys.readouterr().out
    img = cv2.imread(osp.join(out, 'images', 'train', '000000.png'))
    assert img.shape == (200, 160, 3)
    stamp_path = osp.join(out, 'meta', 'ultradigits.json')
    mtime = os.stat(stamp_path).st_mtime_ns

    assert cli.main(argv) == 0
    assert 'up to date' in capsys.readouterr().out
    assert os.stat(stamp_path).st_mtime_ns == mtime

    assert cli.main(argv + ['--force']) == 0
    assert 'written' in capsys.readouterr().out

    # other arguments regenerate, and leave no stale canvases behind
    assert cli.main(
        argv[:-6] +
        ['--num-train', '1', '--num-val', '1', '--num-test', '1']) == 0
    assert 'written' in capsys.readouterr().out
    assert os.listdir(osp.join(out, 'images', 'train')) == ['000000.png']

    # a missing file makes the folder out of date
    os.remove(osp.join(out, 'masks', 'val', '000000.png'))
    assert cli.main(argv) == 0
    assert 'written' in capsys.readouterr().out


def test_mmpretrain_custom_dataset(small):
    pytest.importorskip('mmpretrain')
    from mmpretrain.datasets import CustomDataset
    root, summary = small
    ds = CustomDataset(
        data_root=root,
        ann_file='meta/train.txt',
        data_prefix='images/train',
        metainfo=dict(classes=ULTRADIGITS_CLASSES),
        pipeline=[])
    assert len(ds) == SMALL['num_train']
    hist = [0] * 10
    for i in range(len(ds)):
        info = ds.get_data_info(i)
        assert osp.isfile(info['img_path'])
        hist[info['gt_label']] += 1
    assert hist == summary['splits']['train']['label_hist']


def test_mmdet_coco_dataset(small):
    pytest.importorskip('mmdet')
    from mmdet.datasets import CocoDataset
    from pycocotools.coco import COCO
    root, _ = small
    ds = CocoDataset(
        data_root=root,
        ann_file='annotations/instances_val.json',
        data_prefix=dict(img='images/val/'),
        metainfo=dict(classes=ULTRADIGITS_CLASSES),
        filter_cfg=dict(filter_empty_gt=True, min_size=0),
        pipeline=[])
    assert len(ds) == SMALL['num_val']
    assert ds.cat_ids == list(range(10))
    assert ds.cat2label == {d: d for d in range(10)}
    coco = COCO(osp.join(root, 'annotations', 'instances_val.json'))
    for i in range(len(ds)):
        info = ds.get_data_info(i)
        assert osp.isfile(info['img_path'])
        anns = coco.loadAnns(coco.getAnnIds(imgIds=[info['img_id']]))
        assert [x['bbox_label'] for x in info['instances']] == \
            [a['category_id'] for a in anns]
        for inst, a in zip(info['instances'], anns):
            x, y, w, h = a['bbox']
            assert inst['bbox'] == [x, y, x + w, y + h]
            assert inst['ignore_flag'] == 0


def test_mmseg_base_dataset(small):
    pytest.importorskip('mmseg')
    from mmseg.datasets import BaseSegDataset
    root, _ = small
    ds = BaseSegDataset(
        data_root=root,
        data_prefix=dict(img_path='images/test', seg_map_path='masks/test'),
        img_suffix='.png',
        seg_map_suffix='.png',
        reduce_zero_label=False,
        metainfo=dict(
            classes=ULTRADIGITS_SEG_CLASSES, palette=ULTRADIGITS_SEG_PALETTE),
        pipeline=[])
    assert len(ds) == SMALL['num_test']
    for i in range(len(ds)):
        info = ds.get_data_info(i)
        assert osp.isfile(info['img_path'])
        assert osp.isfile(info['seg_map_path'])
        assert osp.basename(info['img_path']) == \
            osp.basename(info['seg_map_path'])
        assert info['reduce_zero_label'] is False
