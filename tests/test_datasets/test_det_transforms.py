"""The crop baseline's SODA-D rule: the crop transform and the FCOS head
that ignores what it flags."""
import numpy as np
import pytest
import torch

pytest.importorskip('mmdet')


def _crop(boxes, labels, crop=(50, 50), **kwargs):
    from mmdet.structures.bbox import HorizontalBoxes

    from mmpatch.datasets.det_transforms import RandomCropIgnorePartial
    t = RandomCropIgnorePartial(crop_size=crop, **kwargs)
    t._rand_offset = lambda margin: (0, 0)  # the crop at the top left
    results = dict(
        img=np.zeros((100, 100, 3), np.uint8),
        gt_bboxes=HorizontalBoxes(torch.tensor(boxes, dtype=torch.float32)),
        gt_bboxes_labels=np.array(labels),
        gt_ignore_flags=np.zeros(len(boxes), bool))
    return t.transform(results)


def test_objects_mostly_outside_the_crop_are_ignored_not_clipped():
    """A hand-made 100 px canvas cropped to its top-left 50 px: inside
    (kept whole), 30 % and 40 % visible (ignored, boxes clipped), 50 %
    visible (kept, clipped), outside (dropped)."""
    out = _crop([[10, 10, 20, 20],    # inside
                 [44, 10, 64, 20],    # 6 of 20 px wide inside: 30 %
                 [42, 0, 62, 5],      # 8 of 20: 40 %, the rule's edge
                 [40, 30, 60, 40],    # 10 of 20: 50 %
                 [70, 70, 90, 90]],   # outside
                [0, 1, 2, 3, 4])
    assert out['img'].shape[:2] == (50, 50)
    assert out['gt_bboxes_labels'].tolist() == [0, 1, 2, 3]
    assert out['gt_ignore_flags'].tolist() == [False, True, True, False]
    np.testing.assert_allclose(
        out['gt_bboxes'].numpy(),
        [[10, 10, 20, 20], [44, 10, 50, 20], [42, 0, 50, 5],
         [40, 30, 50, 40]])
    assert 'gt_instances_ids' not in out


def test_a_crop_with_only_ignored_objects_is_a_negative_crop():
    boxes, labels = [[44, 10, 64, 20]], [1]
    assert _crop(boxes, labels) is None
    out = _crop(boxes, labels, allow_negative_crop=True)
    assert out['gt_ignore_flags'].tolist() == [True]


def test_min_visible_zero_ignores_nothing_that_is_visible():
    out = _crop([[44, 10, 64, 20]], [1], min_visible=0.0)
    assert out['gt_ignore_flags'].tolist() == [False]


@pytest.mark.parametrize('kwargs, match', [
    (dict(min_visible=1.0), 'min_visible'),
    (dict(bbox_clip_border=False), 'bbox_clip_border'),
])
def test_bad_arguments_are_refused(kwargs, match):
    from mmpatch.datasets.det_transforms import RandomCropIgnorePartial
    with pytest.raises(ValueError, match=match):
        RandomCropIgnorePartial(crop_size=(8, 8), **kwargs)


def _head_grads(head_type, ignore_boxes):
    """Gradient of the loss w.r.t. the level-0 class scores."""
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules
    from mmengine.structures import InstanceData

    import mmpatch.models.fcos_heads  # noqa: F401
    register_all_modules()
    torch.manual_seed(0)
    head = MODELS.build(dict(
        type=head_type, num_classes=3, in_channels=8, stacked_convs=1,
        feat_channels=8, strides=[8, 16],
        regress_ranges=((-1, 32), (32, 1e8)),
        norm_cfg=None))
    feats = [torch.randn(1, 8, 8, 8), torch.randn(1, 8, 4, 4)]
    cls, reg, ctr = head(feats)
    cls = [c.detach().requires_grad_() for c in cls]
    gt = InstanceData(bboxes=torch.tensor([[4., 4., 20., 20.]]),
                      labels=torch.tensor([1]))
    ignore = InstanceData(bboxes=torch.tensor(ignore_boxes,
                                              dtype=torch.float32).view(-1, 4))
    losses = head.loss_by_feat(cls, reg, ctr, [gt],
                               [dict(img_shape=(64, 64), pad_shape=(64, 64))],
                               [ignore])
    losses['loss_cls'].backward()
    return cls[0].grad[0].abs().sum(0)  # (8, 8): level-0 points, stride 8


def test_ignore_head_drops_background_loss_inside_ignored_boxes_only():
    plain = _head_grads('FCOSHead', [[32, 32, 60, 60]])
    none = _head_grads('IgnoreFCOSHead', [])
    torch.testing.assert_close(none, plain)  # no ignored box: FCOS exactly
    ours = _head_grads('IgnoreFCOSHead', [[32, 32, 60, 60]])
    # level-0 points sit at 4 + 8 k: rows/cols 4..7 fall in [32, 60]
    inside = torch.zeros(8, 8, dtype=torch.bool)
    inside[4:8, 4:8] = True
    assert (plain[inside] > 0).all()
    assert (ours[inside] == 0).all()
    torch.testing.assert_close(ours[~inside], plain[~inside])


@pytest.mark.parametrize('center_sampling', [True, False])
def test_chunked_targets_equal_fcos_targets(center_sampling):
    """ChunkedTargetFCOSHead assigns blocks of 7 x boxes-few points (blocks
    that straddle levels) and gets FCOSHead's labels and box targets."""
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules
    from mmengine.structures import InstanceData

    import mmpatch.models.fcos_heads  # noqa: F401
    register_all_modules()
    cfg = dict(num_classes=3, in_channels=8, stacked_convs=1, feat_channels=8,
               strides=[8, 16, 32], norm_on_bbox=True,
               center_sampling=center_sampling,
               regress_ranges=((-1, 24), (24, 48), (48, 1e8)), norm_cfg=None)
    plain = MODELS.build(dict(type='FCOSHead', **cfg))
    chunked = MODELS.build(dict(type='ChunkedTargetFCOSHead',
                                targets_per_chunk=7 * 5, **cfg))
    g = torch.Generator().manual_seed(0)
    xy = torch.rand(5, 2, generator=g) * 80
    boxes = torch.cat([xy, xy + 4 + torch.rand(5, 2, generator=g) * 60], 1)
    gts = [InstanceData(bboxes=boxes, labels=torch.tensor([0, 1, 2, 1, 0])),
           InstanceData(bboxes=torch.zeros(0, 4),
                        labels=torch.zeros(0, dtype=torch.long))]
    points = plain.prior_generator.grid_priors([(16, 16), (8, 8), (4, 4)],
                                               dtype=torch.float32,
                                               device='cpu')
    want = plain.get_targets(points, gts)
    got = chunked.get_targets(points, gts)
    assert any((lab < 3).any() for lab in want[0])  # some positives
    for a, b in zip(want, got):
        for x, y in zip(a, b):
            torch.testing.assert_close(x, y, rtol=0, atol=0)
