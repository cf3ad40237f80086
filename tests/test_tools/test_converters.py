"""The dataset converters on tiny inputs that the tests write themselves."""
import json
import os
import os.path as osp
import sys

import cv2
import numpy as np
import pytest

sys.path.insert(0, osp.join(osp.dirname(__file__), '..', '..', 'tools',
                            'dataset_converters'))
import coco_mosaic  # noqa: E402
import dubai_aerial  # noqa: E402


def test_dubai_aerial(tmp_path):
    root = tmp_path / 'dubai'
    colours = list(dubai_aerial.COLOURS)
    for tile in (1, 8):
        (root / f'Tile {tile}' / 'images').mkdir(parents=True)
        (root / f'Tile {tile}' / 'masks').mkdir(parents=True)
        img = np.full((60, 80, 3), 20 * tile, dtype=np.uint8)
        mask = np.zeros((60, 80, 3), dtype=np.uint8)
        for i, rgb in enumerate(colours):  # a band per class
            mask[:, i * 13:(i + 1) * 13 + 2] = rgb
        cv2.imwrite(str(root / f'Tile {tile}/images/image_part_001.jpg'), img)
        cv2.imwrite(str(root / f'Tile {tile}/masks/image_part_001.png'),
                    mask[..., ::-1])
    out = tmp_path / 'aerial'
    counts = dubai_aerial.convert(str(root), str(out), size=32)
    assert counts == {'train': 1, 'val': 1}
    ann = cv2.imread(str(out / 'ann_dir/train/tile1_image_part_001.png'),
                     cv2.IMREAD_UNCHANGED)
    assert ann.shape == (32, 32) and set(np.unique(ann)) == set(range(6))
    img = cv2.imread(str(out / 'img_dir/val/tile8_image_part_001.png'))
    assert img.shape == (32, 32, 3)


def test_dubai_aerial_rejects_unknown_colours(tmp_path):
    bad = np.full((10, 10, 3), 7, dtype=np.uint8)
    with pytest.raises(ValueError, match='not one of the 6 classes'):
        dubai_aerial.colour_to_ids(bad, 'x.png')
    with pytest.raises(FileNotFoundError, match='Tile 1'):
        dubai_aerial.find_pairs(str(tmp_path))


def test_coco_mosaic(tmp_path):
    coco = tmp_path / 'coco'
    (coco / 'annotations').mkdir(parents=True)
    (coco / 'val2017').mkdir()
    images, anns = [], []
    for i in range(9):
        h, w = 30 + i, 40
        cv2.imwrite(str(coco / 'val2017' / f'{i}.jpg'),
                    np.full((h, w, 3), 20 * i, dtype=np.uint8))
        images.append(dict(id=i, file_name=f'{i}.jpg', height=h, width=w))
        anns.append(dict(id=i + 1, image_id=i, category_id=1 + i % 2,
                         bbox=[5., 5., 10., 10.], area=100., iscrowd=0))
    json.dump(dict(images=images, annotations=anns,
                   categories=[dict(id=1, name='a'), dict(id=2, name='b')]),
              open(coco / 'annotations' / 'instances_val2017.json', 'w'))
    out = tmp_path / 'mosaic'
    counts = coco_mosaic.build_mosaics(str(coco), str(out), 'val2017', 'val',
                                       canvas=120, grid=2)
    assert counts == dict(mosaics=2, boxes=8)  # 9 images -> 2 full mosaics
    data = json.load(open(out / 'annotations' / 'instances_val.json'))
    cell = 60
    for ann in data['annotations']:
        x, y, w, h = ann['bbox']
        assert 0 <= x and x + w <= 120 and 0 <= y and y + h <= 120
        # every box stays inside its own cell: images never overlap
        assert int(x // cell) == int((x + w - 1e-6) // cell)
        assert int(y // cell) == int((y + h - 1e-6) // cell)
    img = cv2.imread(str(out / 'val' / 'mosaic_00000.jpg'))
    assert img.shape == (120, 120, 3)
    from pycocotools.coco import COCO
    assert len(COCO(str(out / 'annotations' / 'instances_val.json'))
               .getAnnIds()) == 8
