import copy

import pytest
import torch

from tests.conftest import assert_step_equals_full


def fcos_cfg(**kwargs):
    """A tiny FCOS (ResNet-18 at 1/8 width, 32-channel FPN and GN head)."""
    cfg = dict(
        type='PatchGlobalDetector',
        data_preprocessor=dict(type='DetDataPreprocessor', mean=[0., 0., 0.],
                               std=[1., 1., 1.], pad_size_divisor=128),
        backbone=dict(type='ResNet', depth=18, base_channels=8,
                      num_stages=4, out_indices=(0, 1, 2, 3),
                      frozen_stages=-1,
                      norm_cfg=dict(type='BN', requires_grad=True),
                      norm_eval=False, style='pytorch', init_cfg=None),
        neck=dict(type='FPN', in_channels=[8, 16, 32, 64], out_channels=32,
                  start_level=1, add_extra_convs='on_output', num_outs=5,
                  relu_before_extra_convs=True),
        bbox_head=dict(
            type='FCOSHead', num_classes=3, in_channels=32, stacked_convs=2,
            feat_channels=32, strides=[8, 16, 32, 64, 128],
            # 4 channels per group: a 1x1 top-level map of one patch or
            # global patch stays valid for GN
            norm_cfg=dict(type='GN', num_groups=8, requires_grad=True),
            loss_cls=dict(type='FocalLoss', use_sigmoid=True, gamma=2.0,
                          alpha=0.25, loss_weight=1.0),
            loss_bbox=dict(type='IoULoss', loss_weight=1.0),
            loss_centerness=dict(type='CrossEntropyLoss', use_sigmoid=True,
                                 loss_weight=1.0)),
        test_cfg=dict(nms_pre=100, min_bbox_size=0, score_thr=0.05,
                      nms=dict(type='nms', iou_threshold=0.5),
                      max_per_img=20),
        patch_cfg=dict(patch_size=128, inner_iters=1, sample_fraction=1.0,
                       fill_chunk=4),
        latent_channels=16)
    cfg.update(kwargs)
    return cfg


def build(cfg):
    from mmdet.registry import MODELS
    torch.manual_seed(0)
    from mmengine.config import ConfigDict
    return MODELS.build(ConfigDict(cfg))


def det_samples(shapes, boxes, labels, batch_shape, dtype=torch.float32):
    from mmdet.structures import DetDataSample
    from mmengine.structures import InstanceData
    out = []
    for (h, w), b, lab in zip(shapes, boxes, labels):
        s = DetDataSample(metainfo=dict(
            img_shape=(h, w), ori_shape=(h, w), pad_shape=batch_shape,
            batch_input_shape=batch_shape, scale_factor=(1.0, 1.0)))
        s.gt_instances = InstanceData(
            bboxes=torch.tensor(b, dtype=dtype).view(-1, 4),
            labels=torch.tensor(lab, dtype=torch.long))
        out.append(s)
    return out


@pytest.mark.parametrize('towers_in_patch,with_cp', [(False, False),
                                                     (True, False),
                                                     (True, True),
                                                     (3, False)])
def test_exactness_step_equals_full_fcos(det_scope, towers_in_patch,
                                         with_cp):
    """The exactness contract (docs/method.md) for FCOS: focal, IoU and
    centerness losses, float64; also with the head's towers inside θ1 (per
    patch) and with θ1 under activation checkpointing."""
    cfg = fcos_cfg(towers_in_patch=towers_in_patch)
    cfg['patch_cfg'] = dict(cfg['patch_cfg'], with_cp=with_cp)
    assert_step_equals_full(build(cfg).double(), *fcos_batch())


def fcos_batch():
    """Two images in a 256x384 batch (2x3 cells of 128 px): one non-square,
    one smaller and padded, with boxes that cross patch borders."""
    shapes, batch_shape = [(256, 384), (200, 250)], (256, 384)
    g = torch.Generator().manual_seed(0)
    x = torch.randn(2, 3, *batch_shape, generator=g, dtype=torch.float64)
    x[1, :, 200:] = 0
    x[1, :, :, 250:] = 0
    # the first box spans the four patches around (128, 128)
    samples = det_samples(
        shapes, [[[90., 80., 170., 190.], [300., 10., 360., 60.]],
                 [[20., 30., 120., 150.]]], [[0, 2], [1]], batch_shape,
        torch.float64)
    return x, samples


@pytest.mark.parametrize('towers_in_patch,with_cp', [(False, False),
                                                     (True, False),
                                                     (True, True),
                                                     (2, False)])
def test_exactness_full_gradient_fcos(det_scope, towers_in_patch, with_cp):
    """gradient='full' for FCOS, towers in θ1 or not: dL/dZ pushed back
    through chunks of 5 of the 12 patches equals the full computation's
    gradient (with_cp then applies to the global patch)."""
    cfg = fcos_cfg(towers_in_patch=towers_in_patch)
    cfg['patch_cfg'] = dict(patch_size=128, gradient='full', fill_chunk=4,
                            backward_chunk=5, with_cp=with_cp)
    model = build(cfg).double()
    assert_step_equals_full(model, *fcos_batch())
    assert model.last_step_stats.gradient == 'full'



def test_exactness_full_gradient_gated_fusion(det_scope):
    """global_fusion='gated' (Z + tanh(a) G per map, a opened from its
    zero start so G's branch gets a gradient) with the full gradient."""
    from tests.test_models.test_classifier import open_gates
    cfg = fcos_cfg(towers_in_patch=True, global_fusion='gated')
    cfg['patch_cfg'] = dict(patch_size=128, gradient='full', fill_chunk=4,
                            backward_chunk=5)
    model = open_gates(build(cfg).double())
    assert model.global_gates.shape == (10, 16)  # 5 levels x (cls, reg)
    assert_step_equals_full(model, *fcos_batch())


def test_gated_fusion_starts_as_patches_alone(det_scope):
    """Closed gates: the head sees Z alone, whatever the global patch."""
    cfg = fcos_cfg(towers_in_patch=True, global_fusion='gated')
    model = build(cfg).eval()
    x, samples = fcos_batch()
    x = x.float()
    latent, g = model.encode_image(x, samples)
    closed = model.head_outputs(latent, g)
    noisy = model.head_outputs(latent, [torch.randn_like(t) for t in g])
    for a, b in zip(closed[0], noisy[0]):
        torch.testing.assert_close(a, b)


def test_conv_after_1x1_equals_two_convs():
    """The composed θ2 conv equals the 1x1 then the 3x3, values and grads."""
    from torch import nn

    from mmpatch.models.detector import conv_after_1x1
    torch.manual_seed(0)
    fuse = nn.Conv2d(6, 20, 1).double()
    conv = nn.Conv2d(20, 5, 3, padding=1).double()
    x = torch.randn(2, 6, 9, 7, dtype=torch.float64, requires_grad=True)
    ref = conv(fuse(x))
    ours = conv_after_1x1(x, fuse, conv)
    torch.testing.assert_close(ours, ref, rtol=1e-9, atol=1e-9)
    w = torch.randn_like(ref)
    grads_ref = torch.autograd.grad((ref * w).sum(),
                                    [x, fuse.weight, fuse.bias, conv.weight])
    grads = torch.autograd.grad((ours * w).sum(),
                                [x, fuse.weight, fuse.bias, conv.weight])
    for a, b in zip(grads, grads_ref):
        torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-9)


def test_towers_on_the_finest_levels_only(det_scope):
    """towers_in_patch=2: the two finest levels' towers per patch (cls and
    reg maps in Z), the three coarser levels' neck maps in Z and the whole
    head on their stitched maps; the outputs have FCOS's shapes."""
    model = build(fcos_cfg(towers_in_patch=2)).eval()
    assert model.patch_tower_levels == 2 and len(model.fusion_convs) == 7
    x, samples = fcos_batch()
    latent, g = model.encode_image(x.float(), samples)
    assert len(latent.maps) == 7
    outs = model.head_outputs(latent, g)
    whole = build(fcos_cfg(towers_in_patch=False)).eval()
    ref = whole.head_outputs(*whole.encode_image(x.float(), samples))
    for a, b in zip(outs, ref):
        assert [t.shape for t in a] == [t.shape for t in b]
    with pytest.raises(ValueError, match='number of levels'):
        build(fcos_cfg(towers_in_patch=6))


def test_towers_in_patch_needs_fcos_head(det_scope):
    cfg = fcos_cfg(towers_in_patch=True)
    cfg['bbox_head'] = dict(cfg['bbox_head'], type='ATSSHead')
    cfg['bbox_head'].pop('loss_centerness')
    cfg['bbox_head'].pop('strides')
    cfg['bbox_head']['anchor_generator'] = dict(
        type='AnchorGenerator', ratios=[1.0], octave_base_scale=8,
        scales_per_octave=1, strides=[8, 16, 32, 64, 128])
    with pytest.raises(ValueError, match='towers_in_patch=True needs an '
                       'FCOSHead'):
        build(cfg)


@pytest.mark.parametrize('towers_in_patch', [False, True])
def test_predictions_inside_non_square_image(det_scope, towers_in_patch):
    model = build(fcos_cfg(towers_in_patch=towers_in_patch, test_cfg=dict(
        nms_pre=100, min_bbox_size=0, score_thr=0.0,
        nms=dict(type='nms', iou_threshold=0.5), max_per_img=50)))
    model.eval()
    h, w = 150, 290  # sides are not patch multiples; 1x3 grid after padding
    x = torch.randn(1, 3, 256, 384) * 50
    x[..., h:, :] = 0
    x[..., w:] = 0
    samples = det_samples([(h, w)], [[[0., 0., 10., 10.]]], [[0]], (256, 384))
    with torch.no_grad():
        out = model.predict(x, samples)
    boxes = out[0].pred_instances.bboxes
    assert len(boxes) > 0
    assert (boxes[:, 0] >= 0).all() and (boxes[:, 1] >= 0).all()
    assert (boxes[:, 2] <= w).all() and (boxes[:, 3] <= h).all()


def test_box_spanning_four_patches_is_detected(det_scope):
    """A toy overfit: one box across the 2x2 patch corner is found."""
    from mmdet.structures.bbox import bbox_overlaps
    from mmengine.optim import OptimWrapper
    cfg = fcos_cfg(patch_cfg=dict(patch_size=128, inner_iters=2,
                                  sample_fraction=0.5, fill_chunk=4),
                   latent_channels=8)
    model = build(cfg)
    box = [80., 70., 190., 170.]  # crosses x=128 and y=128
    img = torch.zeros(3, 256, 256, dtype=torch.uint8)
    img[:, 70:170, 80:190] = 200
    img[1, 95:145, 105:165] = 30
    data = dict(inputs=[img],
                data_samples=det_samples([(256, 256)], [[box]], [[1]],
                                         (256, 256)))
    optim = OptimWrapper(torch.optim.Adam(model.parameters(), lr=4e-3))
    for _ in range(30):
        model.train_step(copy.deepcopy(data), optim)
    model.eval()
    with torch.no_grad():
        out = model.val_step(copy.deepcopy(data))[0].pred_instances
    top = out.scores.argmax()
    assert out.labels[top] == 1
    iou = bbox_overlaps(out.bboxes[top:top + 1], torch.tensor([box]))
    assert iou.item() > 0.5, (out.bboxes[top], out.scores[top])


def test_patch_size_must_match_largest_stride(det_scope):
    with pytest.raises(ValueError, match='multiple of 128'):
        build(fcos_cfg(patch_cfg=dict(patch_size=96)))


def test_sodad_config_one_step_at_4096(det_scope):
    """configs/det/fcos_patchgd_sodad.py (FCOS-R50) trains a step on
    4096x4096."""
    from mmengine.config import Config
    from mmengine.optim import build_optim_wrapper
    cfg = Config.fromfile('configs/det/fcos_patchgd_sodad.py')
    # one inner iteration of one patch keeps the test short; the fill still
    # encodes all 64 patches of the 8x8 grid
    cfg.model.patch_cfg.update(inner_iters=1, patches_per_iter=1)
    model = build(cfg.model)
    optim = build_optim_wrapper(model, cfg.optim_wrapper)
    samples = det_samples([(4096, 4096)], [[[1000., 1000., 1030., 1020.],
                                            [2040., 2040., 2100., 2110.]]],
                          [[0, 3]], (4096, 4096))
    data = dict(inputs=[torch.randint(0, 255, (3, 4096, 4096),
                                      dtype=torch.uint8)],
                data_samples=samples)
    log_vars = model.train_step(data, optim)
    assert torch.isfinite(log_vars['loss'])
    assert model.last_step_stats.grid == (8, 8)
