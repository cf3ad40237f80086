"""Bad input gets a clear error or a documented skip (issue 8).

One section per row of the table in docs/reliability.md. Where the answer
comes from a host library (mmcv's ``LoadImageFromFile``, mmengine's
``BaseDataset``, mmdet's ``CocoDataset``/``Resize``/``FCOSHead``, mmseg's
``SegDataPreProcessor``/losses), the test pins that library's behaviour as
installed (mmcv 2.1.0, mmengine 0.10.7, mmdet 3.3.0, mmseg 1.2.2, OpenCV
4.13), so an upgrade that changes it fails here and the table gets updated.
Tests marked ``xfail(strict=True)`` pin a *wanted* behaviour that is not
there yet (reported in docs/reliability.md); they start failing, as XPASS,
once it is fixed, so the marker gets removed.
"""
import copy
import json
import math

import cv2
import numpy as np
import pytest
import torch

from mmpatch.patchgd import lay_out
from tests.test_models.test_detector import build as build_det
from tests.test_models.test_detector import det_samples, fcos_cfg
from tests.test_models.test_segmentor import build as build_seg
from tests.test_models.test_segmentor import samples_for, unet_cfg


def sgd(model, lr=0.01):
    from mmengine.optim import OptimWrapper
    return OptimWrapper(torch.optim.SGD(model.parameters(), lr=lr))


def image(h, w, seed=0):
    return (np.random.RandomState(seed).rand(h, w, 3) * 255).astype(np.uint8)


def write_seg_dataset(root, images, masks):
    """``images``/``masks``: name -> array (None: no file) in mmseg layout."""
    (root / 'img').mkdir(parents=True, exist_ok=True)
    (root / 'ann').mkdir(parents=True, exist_ok=True)
    for name, img in images.items():
        cv2.imwrite(str(root / 'img' / f'{name}.png'), img)
    for name, mask in masks.items():
        if mask is not None:
            cv2.imwrite(str(root / 'ann' / f'{name}.png'), mask)


def seg_dataset(root, pipeline, test_mode=False):
    from mmseg.registry import DATASETS
    return DATASETS.build(dict(
        type='BaseSegDataset', data_root=str(root),
        data_prefix=dict(img_path='img', seg_map_path='ann'),
        img_suffix='.png', seg_map_suffix='.png', test_mode=test_mode,
        metainfo=dict(classes=('background', 'stroke')),
        pipeline=pipeline))


def truncate(path, keep):
    data = path.read_bytes()
    path.write_bytes(data[:int(len(data) * keep)])


# ------------------------------------------- corrupt or truncated image --
@pytest.mark.parametrize('ext', ['png', 'jpg'])
@pytest.mark.parametrize('keep', [0.5, 0.97, 0.0])
def test_truncated_image_raises_naming_the_file(tmp_path, ext, keep):
    """mmcv's LoadImageFromFile (cv2 backend, the default): OpenCV returns
    None for a truncated or empty file, and mmcv asserts ``failed to load
    image: <path>`` (an empty file: OpenCV's own ``!buf.empty()`` error).
    Even a JPEG that lacks only its end (97 %) is refused."""
    from mmcv.transforms import LoadImageFromFile
    path = tmp_path / f'bad.{ext}'
    cv2.imwrite(str(path), image(64, 80))
    truncate(path, keep)
    if keep == 0.0:
        with pytest.raises(cv2.error, match='buf.empty'):
            LoadImageFromFile()(dict(img_path=str(path)))
    else:
        with pytest.raises(AssertionError, match=f'failed to load image: '
                           f'{path}'):
            LoadImageFromFile()(dict(img_path=str(path)))
    # the pillow backend raises too (OSError: image file is truncated)
    with pytest.raises(OSError):
        LoadImageFromFile(imdecode_backend='pillow')(dict(img_path=str(path)))


def test_truncated_image_stops_training_dataset(seg_scope, tmp_path):
    """The error travels out of mmengine's BaseDataset.__getitem__ (and so
    out of the DataLoader and the runner) with the file's path."""
    write_seg_dataset(tmp_path, dict(a=image(64, 80), b=image(64, 80)),
                      dict(a=np.zeros((64, 80), np.uint8),
                           b=np.zeros((64, 80), np.uint8)))
    truncate(tmp_path / 'img' / 'b.png', 0.5)
    ds = seg_dataset(tmp_path, [dict(type='LoadImageFromFile'),
                                dict(type='LoadAnnotations'),
                                dict(type='PackSegInputs')])
    assert ds[0]['data_samples'].img_path.endswith('a.png')
    with pytest.raises(AssertionError,
                       match=r'failed to load image: .*b\.png'):
        ds[1]


def test_corrupt_image_skip_with_pillow_ignore_empty(seg_scope, tmp_path):
    """The documented skip: ``LoadImageFromFile(imdecode_backend='pillow',
    ignore_empty=True)`` returns None for a corrupt or missing file, and
    mmengine's BaseDataset then serves another random sample (training,
    up to max_refetch=1000 tries; nothing is logged) or raises (test_mode).
    With the cv2 backend, ignore_empty only covers missing files: OpenCV's
    None for a corrupt file still hits mmcv's assertion."""
    from mmcv.transforms import LoadImageFromFile
    write_seg_dataset(tmp_path, dict(a=image(64, 80), b=image(64, 80)),
                      dict(a=np.zeros((64, 80), np.uint8),
                           b=np.zeros((64, 80), np.uint8)))
    truncate(tmp_path / 'img' / 'b.png', 0.5)
    pipeline = [dict(type='LoadImageFromFile', imdecode_backend='pillow',
                     ignore_empty=True),
                dict(type='LoadAnnotations'), dict(type='PackSegInputs')]
    train = seg_dataset(tmp_path, pipeline)
    for _ in range(3):
        assert train[1]['data_samples'].img_path.endswith('a.png')
    test = seg_dataset(tmp_path, pipeline, test_mode=True)
    with pytest.raises(Exception, match='should not get `None`'):
        test[1]
    bad = str(tmp_path / 'img' / 'b.png')
    with pytest.raises(AssertionError, match='failed to load image'):
        LoadImageFromFile(ignore_empty=True)(dict(img_path=bad))


# ------------------------------------------------ grayscale or 4 channels --
@pytest.mark.parametrize('kind', ['gray', 'rgba', 'gray16'])
def test_gray_and_rgba_load_as_three_channels(seg_scope, tmp_path, kind):
    """LoadImageFromFile's default ``color_type='color'`` (every mmpatch
    config) decodes with OpenCV's IMREAD_COLOR: gray is replicated to 3
    channels, alpha is dropped, 16 bit is scaled to 8 bit (>> 8). The
    model then sees an ordinary 3-channel image."""
    from mmcv.transforms import LoadImageFromFile
    from mmengine.dataset import pseudo_collate
    from mmseg.datasets.transforms import PackSegInputs
    rgb = image(40, 70)
    data = dict(gray=rgb[..., 0], rgba=np.dstack([rgb, rgb[..., :1]]),
                gray16=rgb[..., 0].astype(np.uint16) * 256)[kind]
    path = tmp_path / f'{kind}.png'
    cv2.imwrite(str(path), data)
    img = LoadImageFromFile()(dict(img_path=str(path)))['img']
    assert img.shape == (40, 70, 3) and img.dtype == np.uint8
    expected = rgb if kind == 'rgba' else np.repeat(rgb[..., :1], 3, 2)
    np.testing.assert_array_equal(img, expected)
    model = build_seg(unet_cfg()).eval()
    packed = PackSegInputs()(dict(img=img, img_path=str(path),
                                  ori_shape=img.shape[:2],
                                  img_shape=img.shape[:2]))
    out = model.test_step(pseudo_collate([packed]))
    assert out[0].pred_sem_seg.shape == (40, 70)


def test_four_channels_unchanged_fail_in_data_preprocessor(seg_scope,
                                                           tmp_path):
    """With ``color_type='unchanged'`` a 4-channel image reaches mmseg's
    SegDataPreProcessor, whose 3-value mean/std refuse it (a torch
    broadcasting error). A 1-channel (gray) image broadcasts to 3 channels
    there, which equals replicating it."""
    from mmcv.transforms import LoadImageFromFile
    from mmengine.dataset import pseudo_collate
    from mmseg.datasets.transforms import PackSegInputs
    rgb = image(40, 70)
    model = build_seg(unet_cfg(data_preprocessor=dict(
        type='SegDataPreProcessor', mean=[10., 20., 30.], std=[2., 3., 4.],
        size_divisor=32))).eval()
    outs = {}
    kinds = dict(rgba=np.dstack([rgb, rgb[..., :1]]), gray=rgb[..., 0],
                 gray3=rgb[..., [0, 0, 0]])
    for kind, data in kinds.items():
        path = tmp_path / f'{kind}.png'
        cv2.imwrite(str(path), data)
        res = LoadImageFromFile(color_type='unchanged')(
            dict(img_path=str(path)))
        batch = pseudo_collate([PackSegInputs()(res)])
        if kind == 'rgba':
            with pytest.raises(RuntimeError, match=r'size of tensor a \(4\) '
                               r'must match the size of tensor b \(3\)'):
                model.test_step(batch)
        else:
            outs[kind] = model.test_step(batch)[0].seg_logits.data
    torch.testing.assert_close(outs['gray'], outs['gray3'])


# --------------------------------------------- image smaller than a patch --
def test_segmentor_trains_and_predicts_image_smaller_than_patch(seg_scope):
    """A 20x12 image in 32 px patches: a 1x1 grid, padded; works."""
    model = build_seg(unet_cfg(patch_cfg=dict(patch_size=32, inner_iters=2,
                                              sample_fraction=1.0)))
    shape = (20, 12)
    data = dict(inputs=[torch.randint(0, 255, (3, *shape), dtype=torch.uint8)],
                data_samples=samples_for([shape], shape))
    model.train()
    log = model.train_step(copy.deepcopy(data), sgd(model))
    assert math.isfinite(float(log['loss']))
    assert model.last_step_stats.grid == (1, 1)
    model.eval()
    out = model.val_step(data)
    assert out[0].pred_sem_seg.shape == shape


def test_detector_trains_and_predicts_image_smaller_than_patch(det_scope):
    """A 50x60 image in 128 px patches (1x1 grid); predictions stay inside
    it. (mmdet's CocoDataset drops training images whose short side is below
    ``filter_cfg.min_size``: UltraDigits uses 4, mmdet's COCO configs 32.)"""
    model = build_det(one_patch_fcos_cfg())
    h, w = 50, 60
    img = torch.zeros(3, h, w, dtype=torch.uint8)
    img[:, 10:40, 15:45] = 200
    data = dict(inputs=[img], data_samples=det_samples(
        [(h, w)], [[[15., 10., 45., 40.]]], [[1]], (h, w)))
    model.train()
    log = model.train_step(copy.deepcopy(data), sgd(model))
    assert math.isfinite(float(log['loss']))
    model.eval()
    model.test_cfg.score_thr = 0.0
    boxes = model.val_step(data)[0].pred_instances.bboxes
    assert len(boxes) > 0
    assert (boxes[:, 2] <= w).all() and (boxes[:, 3] <= h).all()


def one_patch_fcos_cfg():
    """The tiny FCOS for a one-cell grid, whose P7 map is 1x1: the tiny
    head's GN (32 groups of 32 channels) would normalise single values,
    which torch refuses in training; FCOS's own GN(32) over 256 channels
    has 8 values a group."""
    cfg = fcos_cfg(patch_cfg=dict(patch_size=128, inner_iters=1,
                                  sample_fraction=1.0))
    cfg['bbox_head']['norm_cfg'] = dict(type='GN', num_groups=8,
                                        requires_grad=True)
    return cfg


@pytest.mark.xfail(strict=True, raises=ValueError, reason=(
    "PatchGlobalClassifier's GridHead BatchNorm sees one value per channel "
    'for a 1x1 grid and a batch of 1 (per rank), and torch refuses it in '
    "training ('Expected more than 1 value per channel when training')."))
def test_classifier_trains_image_smaller_than_patch_batch_of_one(cls_scope):
    from tests.test_models.test_classifier import build, cls_cfg, cls_samples
    model = build(cls_cfg(patch_cfg=dict(patch_size=64, inner_iters=1,
                                         sample_fraction=1.0)))
    model.train()
    data = dict(inputs=[torch.randint(0, 255, (3, 60, 60), dtype=torch.uint8)],
                data_samples=cls_samples([1], [(60, 60)]))
    log = model.train_step(data, sgd(model))
    assert math.isfinite(float(log['loss']))


# --------------------------------------------------- very elongated image --
def test_segmentor_elongated_image(seg_scope):
    """32 x 4096 px: a 1x128 grid. The global patch squeezes the whole
    strip into 32x32 (``global_size`` may be set non-square instead)."""
    model = build_seg(unet_cfg(patch_cfg=dict(
        patch_size=32, inner_iters=2, patches_per_iter=16, fill_chunk=64)))
    model.eval()
    shape = (32, 4096)
    x = torch.rand(1, 3, *shape)
    with torch.no_grad():
        out = model.predict(x, samples_for([shape], shape))
    assert out[0].pred_sem_seg.data.shape == (1, *shape)
    assert out[0].seg_logits.data.shape == (2, *shape)
    grid = lay_out(model, x, None).grid
    assert (grid.rows, grid.cols) == (1, 128)
    model.train()
    data = dict(inputs=[(x[0] * 255).to(torch.uint8)],
                data_samples=samples_for([shape], shape))
    log = model.train_step(data, sgd(model))
    assert math.isfinite(float(log['loss']))
    assert model.last_step_stats.grid == (1, 128)


def test_detector_elongated_image(det_scope):
    """128 x 2048 px in 128 px patches: a 1x16 grid; FCOS's P7 map is 1x16."""
    model = build_det(fcos_cfg()).eval()
    model.test_cfg.score_thr = 0.0
    h, w = 128, 2048
    x = torch.rand(1, 3, h, w) * 100
    samples = det_samples([(h, w)], [[[0., 0., 10., 10.]]], [[0]], (h, w))
    with torch.no_grad():
        boxes = model.predict(x, samples)[0].pred_instances.bboxes
    assert len(boxes) > 0
    assert (boxes[:, 2] <= w).all() and (boxes[:, 3] <= h).all()


# ----------------------------------------------- image with no annotations --
def coco_file(root, anns, images=None):
    images = images or [dict(id=1, file_name='a.png', height=100, width=120),
                        dict(id=2, file_name='b.png', height=100, width=120)]
    for im in images:
        cv2.imwrite(str(root / im['file_name']),
                    image(im['height'], im['width']))
    for i, a in enumerate(anns, 1):
        a.setdefault('id', i)
        a.setdefault('category_id', 1)
        a.setdefault('iscrowd', 0)
        a.setdefault('area', a['bbox'][2] * a['bbox'][3])
    path = root / 'ann.json'
    path.write_text(json.dumps(dict(
        images=images, annotations=anns,
        categories=[dict(id=0, name='0'), dict(id=1, name='1')])))
    return path


def coco_dataset(root, ann_file, filter_cfg=None, pipeline=None):
    from mmdet.registry import DATASETS
    return DATASETS.build(dict(
        type='CocoDataset', data_root=str(root), ann_file=str(ann_file),
        data_prefix=dict(img=str(root) + '/'),
        metainfo=dict(classes=('0', '1')), filter_cfg=filter_cfg,
        pipeline=pipeline or []))


def test_coco_image_without_annotations_skipped_in_training(det_scope,
                                                            tmp_path):
    """mmdet's CocoDataset ``filter_cfg=dict(filter_empty_gt=True)`` (the
    UltraDigits training config) drops images without annotations;
    without the filter they are kept with no instances. An image whose
    annotations are all invalid (dropped by parse_data_info) is *not*
    filtered: it trains as background only."""
    ann = coco_file(tmp_path, [
        dict(image_id=1, bbox=[10, 10, 30, 30]),
        dict(image_id=3, bbox=[10, 10, 0, 30]),  # only a zero-width box
    ], images=[dict(id=i, file_name=f'{n}.png', height=100, width=120)
               for i, n in [(1, 'a'), (2, 'b'), (3, 'c')]])
    kept = coco_dataset(tmp_path, ann, dict(filter_empty_gt=True))
    infos = [kept.get_data_info(i) for i in range(len(kept))]
    assert [d['img_path'][-5:] for d in infos] == ['a.png', 'c.png']
    assert infos[1]['instances'] == []
    unfiltered = coco_dataset(tmp_path, ann)
    assert len(unfiltered) == 3
    assert unfiltered.get_data_info(1)['instances'] == []


def test_detector_trains_on_image_without_boxes(det_scope):
    """FCOSHead: every point is background (num_pos clamps to 1, so the
    focal loss is a sum over all points: large but finite), bbox and
    centerness losses are 0."""
    model = build_det(fcos_cfg(patch_cfg=dict(
        patch_size=128, inner_iters=2, sample_fraction=0.5)))
    data = dict(inputs=[torch.randint(0, 255, (3, 256, 256),
                                      dtype=torch.uint8)],
                data_samples=det_samples([(256, 256)], [[]], [[]],
                                         (256, 256)))
    model.train()
    before = copy.deepcopy(model.state_dict())
    log = model.train_step(data, sgd(model))
    assert all(math.isfinite(float(v)) for v in log.values())
    assert float(log['loss_bbox']) == 0 and float(log['loss_cls']) > 0
    after = model.state_dict()
    assert all(torch.isfinite(v).all() for v in after.values()
               if v.dtype.is_floating_point)
    assert any(not torch.equal(before[k], after[k]) for k in before)


def test_segmentor_empty_masks(seg_scope):
    """An all-background mask is an ordinary (negative) sample. An
    all-ignore (255) mask gives CE = 0 (``avg_non_ignore``) but mmseg
    1.2.2's DiceLoss still counts the ignored pixels (its ignore_index drops
    a class channel, not pixels), so the image still pushes predictions
    towards 'no class'. Remove such images, or use CE only."""
    model = build_seg(unet_cfg())
    model.train()
    shape = (32, 64)
    x = torch.rand(1, 3, *shape)
    for fill, ce_zero in [(0, False), (255, True)]:
        samples = samples_for([shape], shape)
        samples[0].gt_sem_seg.data[:] = fill
        losses = model.loss(x, samples)
        assert all(torch.isfinite(v).all() for v in losses.values())
        assert (float(losses['loss_ce']) == 0) == ce_zero
        assert float(losses['loss_dice']) > 0


def test_missing_mask_file_raises_naming_it(seg_scope, tmp_path):
    """mmseg's BaseSegDataset pairs every image with ``<name>.png`` in
    seg_map_path; a missing mask fails in LoadAnnotations (mmengine's
    fileio) with the path."""
    write_seg_dataset(tmp_path, dict(a=image(32, 32)), dict(a=None))
    ds = seg_dataset(tmp_path, [dict(type='LoadImageFromFile'),
                                dict(type='LoadAnnotations')])
    with pytest.raises(FileNotFoundError, match=r'ann/a\.png'):
        ds[0]


# --------------------------------------------- zero / negative-size boxes --
def test_coco_drops_degenerate_and_outside_boxes(det_scope, tmp_path):
    """mmdet's CocoDataset.parse_data_info drops a box with w < 1, h < 1 or
    area <= 0, and a box with no overlap with the image; a box that is
    partly outside is kept *unclipped*."""
    ann = coco_file(tmp_path, [
        dict(image_id=1, bbox=[10, 10, 30, 30]),      # kept
        dict(image_id=1, bbox=[10, 10, 0, 30]),       # zero width
        dict(image_id=1, bbox=[10, 10, 30, 0.5]),     # h < 1
        dict(image_id=1, bbox=[50, 50, -20, 10]),     # negative width
        dict(image_id=1, bbox=[10, 10, 30, 30], area=0),
        dict(image_id=1, bbox=[130, 10, 30, 30]),     # right of the image
        dict(image_id=1, bbox=[100, 80, 40, 40]),     # partly outside: kept
    ])
    ds = coco_dataset(tmp_path, ann)
    boxes = [i['bbox'] for i in ds.get_data_info(0)['instances']]
    assert boxes == [[10, 10, 40, 40], [100, 80, 140, 120]]


def test_fcos_ignores_degenerate_boxes_that_reach_it(det_scope):
    """Boxes that escape the dataset filter (a custom dataset or transform)
    reach FCOSHead, which gives them no positive point: the loss equals
    the loss without them. A NaN box is ignored the same way."""
    model = build_det(fcos_cfg()).double().eval()
    x = torch.randn(1, 3, 256, 256, generator=torch.Generator().manual_seed(0),
                    dtype=torch.float64)
    good = [[20., 30., 120., 150.]]

    def loss(boxes):
        samples = det_samples([(256, 256)], [boxes], [[1] * len(boxes)],
                              (256, 256), torch.float64)
        return {k: float(v) for k, v in model.loss(x, samples).items()}

    ref = loss(good)
    for bad in ([50., 50., 50., 80.], [90., 90., 60., 70.],
                [float('nan'), 3., 40., 50.]):
        assert loss(good + [bad]) == ref


# ------------------------------------------------- boxes outside the image --
def test_resize_clips_boxes_to_the_image(det_scope, tmp_path):
    """mmdet's Resize (``clip_object_border=True``, in every mmpatch
    detection pipeline) clips the kept partly-outside box to the image."""
    ann = coco_file(tmp_path, [dict(image_id=1, bbox=[100, 80, 40, 40])])
    ds = coco_dataset(tmp_path, ann, pipeline=[
        dict(type='LoadImageFromFile'), dict(type='LoadAnnotations'),
        dict(type='Resize', scale=(120, 100), keep_ratio=True)])
    box = ds[0]['gt_bboxes'].tensor.tolist()
    assert box == [[100., 80., 120., 100.]]


def test_detector_clips_boxes_outside_the_image(det_scope):
    model = build_det(fcos_cfg()).double().eval()
    x = torch.randn(1, 3, 256, 256, generator=torch.Generator().manual_seed(0),
                    dtype=torch.float64)
    x[..., 200:, :] = 0
    x[..., :, 200:] = 0

    def loss(boxes):
        samples = det_samples([(200, 200)], [boxes], [[1] * len(boxes)],
                              (256, 256), torch.float64)
        return {k: float(v) for k, v in model.loss(x, samples).items()}

    good = [[20., 30., 120., 150.]]
    assert loss(good + [[150., 150., 240., 240.]]) == pytest.approx(
        loss(good + [[150., 150., 200., 200.]]))
    assert loss(good + [[210., 210., 250., 250.]]) == pytest.approx(
        loss(good))


# ---------------------------------------------- mask of another size --
MASK_PIPELINE = [dict(type='LoadImageFromFile'), dict(type='LoadAnnotations'),
                 dict(type='Resize', scale=(128, 128), keep_ratio=True),
                 dict(type='PackSegInputs')]


def test_mmseg_alone_trains_on_a_mask_of_another_size(seg_scope, tmp_path):
    """Why CheckSegMapSize exists: mmseg 1.2.2 resizes image and mask by the
    same factor, pads both alike and resizes the logits to the mask in
    ``loss_by_feat``: a 40x50 mask for a 64x96 image trains silently."""
    from mmengine.dataset import pseudo_collate
    write_seg_dataset(tmp_path, dict(a=image(64, 96)),
                      dict(a=np.ones((40, 50), np.uint8)))
    sample = seg_dataset(tmp_path, MASK_PIPELINE)[0]
    assert tuple(sample['inputs'].shape[-2:]) == (85, 128)
    assert tuple(sample['data_samples'].gt_sem_seg.shape) == (102, 128)
    model = build_seg(unet_cfg())
    model.train()
    log = model.train_step(pseudo_collate([sample]), sgd(model))
    assert math.isfinite(float(log['loss']))


def test_check_seg_map_size(seg_scope, tmp_path):
    """mmpatch's CheckSegMapSize (right after LoadAnnotations) refuses it,
    naming both files and sizes; right-sized masks pass, also when a test
    pipeline loads them after Resize (original size)."""
    import mmpatch.datasets.transforms  # noqa: F401
    write_seg_dataset(tmp_path, dict(a=image(64, 96), b=image(64, 96)),
                      dict(a=np.ones((40, 50), np.uint8),
                           b=np.ones((64, 96), np.uint8)))
    pipeline = copy.deepcopy(MASK_PIPELINE)
    pipeline.insert(2, dict(type='CheckSegMapSize'))
    ds = seg_dataset(tmp_path, pipeline)
    with pytest.raises(ValueError, match=r'ann/a\.png is 40x50 pixels but '
                       r'its image .*img/a\.png is 64x96'):
        ds[0]
    assert tuple(ds[1]['data_samples'].gt_sem_seg.shape) == (85, 128)
    test_pipeline = [dict(type='LoadImageFromFile'),
                     dict(type='Resize', scale=(128, 128), keep_ratio=True),
                     dict(type='LoadAnnotations'),
                     dict(type='CheckSegMapSize'),
                     dict(type='PackSegInputs')]
    test = seg_dataset(tmp_path, test_pipeline, test_mode=True)
    assert tuple(test[1]['data_samples'].gt_sem_seg.shape) == (64, 96)
    with pytest.raises(ValueError, match=r'\(resized to 85x128\)'):
        test[0]


# ---------------------------- patch size not a multiple of the stride --
def test_patch_size_not_multiple_of_stride(seg_scope):
    """Refused when the model is built, with the stride and a valid size."""
    with pytest.raises(ValueError, match=r'patch_size=\(30, 30\) is not a '
                       r'multiple of 4, .* use e\.g\. 32'):
        build_seg(unet_cfg(patch_cfg=dict(patch_size=30)))


def test_detector_patch_size_not_multiple_of_stride(det_scope):
    with pytest.raises(ValueError, match=r'patch_size=\(100, 100\) is not a '
                       r'multiple of 128, the largest stride of the FCOSHead'):
        build_det(fcos_cfg(patch_cfg=dict(patch_size=100)))


def test_classifier_accepts_any_patch_size(cls_scope):
    """The classifier pools each patch to one vector: nothing has to tile,
    so a 60 px patch with a stride-32 ResNet is fine."""
    from tests.test_models.test_classifier import build, cls_cfg, cls_samples
    model = build(cls_cfg(patch_cfg=dict(patch_size=60, inner_iters=1,
                                         sample_fraction=0.5)))
    model.train()
    data = dict(
        inputs=[torch.randint(0, 255, (3, 128, 160), dtype=torch.uint8)],
        data_samples=cls_samples([1], [(128, 160)]))
    log = model.train_step(data, sgd(model))
    assert math.isfinite(float(log['loss']))
    assert model.last_step_stats.grid == (3, 3)


# ------------------------------------- patches_per_iter exceeding the grid --
def test_patches_per_iter_exceeding_grid(seg_scope):
    """Valid at build time (the grid depends on the image); the training
    step that meets a smaller grid refuses it, naming k, the grid and the
    batch size. ``sample_fraction`` and ``'auto'`` never exceed a grid."""
    model = build_seg(unet_cfg(patch_cfg=dict(patch_size=32,
                                              patches_per_iter=7)))
    model.train()
    data = dict(inputs=[torch.zeros(3, 64, 96, dtype=torch.uint8)],
                data_samples=samples_for([(64, 96)], (64, 96)))
    before = copy.deepcopy(model.state_dict())
    with pytest.raises(ValueError, match=r'patches_per_iter=7 exceeds the 6 '
                       r'cells of the patch grid of a 64x96 batch with 32x32'):
        model.train_step(data, sgd(model))
    assert all(torch.equal(before[k], v)
               for k, v in model.state_dict().items())


# ----------------------------------------------------------- NaN / inf loss --
def nan_step(model, x, samples):
    model.train()
    params = {n: p.detach().clone() for n, p in model.named_parameters()}
    with pytest.raises(FloatingPointError) as info:
        model.train_step(dict(inputs=[x], data_samples=samples), sgd(model))
    for n, p in model.named_parameters():
        assert torch.equal(p, params[n]), n
        assert p.grad is None, n
    return str(info.value)


def test_nan_loss_stops_with_step_iteration_and_inputs(seg_scope):
    """``patch_cfg.check_finite`` (default True): a NaN loss (here NaN
    pixels) raises FloatingPointError before backward, naming the training
    step, the inner iteration, the loss terms and img_path; no parameter
    changed and no gradient is left."""
    model = build_seg(unet_cfg(patch_cfg=dict(patch_size=32, inner_iters=2,
                                              sample_fraction=0.5)))
    x = torch.randint(0, 255, (3, 64, 96)).float()
    x[:, 5:9, 40:44] = float('nan')
    samples = samples_for([(64, 96)], (64, 96))
    samples[0].set_metainfo(dict(img_path='data/bad_000.png'))
    msg = nan_step(model, x, samples)
    assert 'non-finite loss at training step 0, inner iteration 0' in msg
    assert 'loss_ce=nan' in msg and "inputs: ['data/bad_000.png']" in msg
    assert int(model.patchgd_step) == 0


def test_nan_loss_stops_full_gradient_step(seg_scope):
    """The same stop in gradient='full': before θ2's backward, so neither
    the weights nor θ1's BatchNorm statistics (moved by the fill in
    bn_mode='train') keep anything of the step."""
    model = build_seg(unet_cfg(patch_cfg=dict(patch_size=32, gradient='full',
                                              fill_chunk=2)))
    x = torch.randint(0, 255, (3, 64, 96)).float()
    x[:, 5:9, 40:44] = float('nan')
    samples = samples_for([(64, 96)], (64, 96))
    samples[0].set_metainfo(dict(img_path='data/bad_001.png'))
    buffers = {n: b.clone() for n, b in model.named_buffers()}
    msg = nan_step(model, x, samples)
    assert 'non-finite loss at training step 0, inner iteration 0' in msg
    assert "inputs: ['data/bad_001.png']" in msg
    for n, b in model.named_buffers():
        assert torch.equal(b, buffers[n]), n


def test_inf_loss_stops_detector(det_scope):
    model = build_det(one_patch_fcos_cfg())
    x = torch.full((3, 128, 128), float('inf'))
    samples = det_samples([(128, 128)], [[[10., 10., 60., 60.]]], [[0]],
                          (128, 128))
    samples[0].set_metainfo(dict(img_path='inf.png'))
    msg = nan_step(model, x, samples)
    assert "inputs: ['inf.png']" in msg


def test_check_finite_off_corrupts_silently(seg_scope):
    """What check_finite prevents: with it off the NaN reaches the weights
    (mmengine's OptimWrapper does not check)."""
    model = build_seg(unet_cfg(patch_cfg=dict(patch_size=32, inner_iters=1,
                                              sample_fraction=1.0,
                                              check_finite=False)))
    model.train()
    x = torch.randint(0, 255, (3, 64, 96)).float()
    x[:, 0, 0] = float('nan')
    model.train_step(dict(inputs=[x],
                          data_samples=samples_for([(64, 96)], (64, 96))),
                     sgd(model))
    assert any(torch.isnan(p).any() for p in model.parameters())


def test_nan_loss_leaves_batchnorm_statistics(seg_scope):
    model = build_seg(unet_cfg(patch_cfg=dict(patch_size=32, inner_iters=2,
                                              sample_fraction=0.5)))
    x = torch.randint(0, 255, (3, 64, 96)).float()
    x[:, 5:9, 40:44] = float('nan')
    buffers = {n: b.clone() for n, b in model.named_buffers()}
    nan_step(model, x, samples_for([(64, 96)], (64, 96)))
    for n, b in model.named_buffers():
        assert torch.equal(b, buffers[n]), n
