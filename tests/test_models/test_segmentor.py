import copy

import pytest
import torch

from tests.conftest import assert_step_equals_full

NORM = dict(type='BN', requires_grad=True)


def unet_cfg(**kwargs):
    """A tiny U-Net (3 stages, stride 4) in the shape of mmseg's unet-s5-d16."""
    cfg = dict(
        type='PatchGlobalSegmentor',
        data_preprocessor=dict(
            type='SegDataPreProcessor', mean=[0., 0., 0.], std=[1., 1., 1.],
            pad_val=0, seg_pad_val=255, size_divisor=32),
        backbone=dict(
            type='UNet', in_channels=3, base_channels=4, num_stages=3,
            strides=(1, 1, 1), enc_num_convs=(1, 1, 1), dec_num_convs=(1, 1),
            downsamples=(True, True), enc_dilations=(1, 1, 1),
            dec_dilations=(1, 1), norm_cfg=NORM,
            upsample_cfg=dict(type='InterpConv')),
        decode_head=dict(
            type='FCNHead', in_channels=4, in_index=2, channels=4,
            num_convs=1, concat_input=False, dropout_ratio=0.0,
            num_classes=2, norm_cfg=NORM, align_corners=False,
            loss_decode=[
                dict(type='CrossEntropyLoss', loss_weight=1.0,
                     avg_non_ignore=True),
                dict(type='DiceLoss', loss_weight=1.0)]),
        test_cfg=dict(mode='whole'),
        patch_cfg=dict(patch_size=32, inner_iters=1, sample_fraction=1.0,
                       fill_chunk=4),
        latent_channels=3)
    cfg.update(kwargs)
    return cfg


def deeplab_cfg(**kwargs):
    """A tiny DeepLabV3 (ResNetV1c-18-D8 + ASPP) like deeplabv3_r50-d8."""
    cfg = unet_cfg(**kwargs)
    cfg['backbone'] = dict(
        type='ResNetV1c', depth=18, stem_channels=8, base_channels=8,
        num_stages=4, out_indices=(0, 1, 2, 3), dilations=(1, 1, 2, 4),
        strides=(1, 2, 1, 1), norm_cfg=NORM, norm_eval=False,
        style='pytorch', contract_dilation=True)
    cfg['decode_head'] = dict(
        type='ASPPHead', in_channels=64, in_index=3, channels=8,
        dilations=(1, 2, 3, 4), dropout_ratio=0.0, num_classes=3,
        norm_cfg=NORM, align_corners=False,
        loss_decode=dict(type='CrossEntropyLoss', loss_weight=1.0))
    return cfg


def build(cfg):
    from mmseg.registry import MODELS
    torch.manual_seed(0)
    from mmengine.config import ConfigDict
    return MODELS.build(ConfigDict(cfg))


def samples_for(shapes, batch_shape, num_classes=2, seed=0):
    """SegDataSamples with random masks, padded with 255 like mmseg does."""
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    g = torch.Generator().manual_seed(seed)
    out = []
    for h, w in shapes:
        mask = torch.full((1, *batch_shape), 255, dtype=torch.long)
        mask[:, :h, :w] = torch.randint(0, num_classes, (1, h, w), generator=g)
        s = SegDataSample(metainfo=dict(
            img_shape=(h, w), ori_shape=(h, w), pad_shape=batch_shape,
            padding_size=[0, batch_shape[1] - w, 0, batch_shape[0] - h]))
        s.gt_sem_seg = PixelData(data=mask)
        out.append(s)
    return out


def batch(shapes, batch_shape, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.zeros(len(shapes), 3, *batch_shape, dtype=torch.float64)
    for i, (h, w) in enumerate(shapes):
        x[i, :, :h, :w] = torch.randn(3, h, w, generator=g, dtype=torch.float64)
    return x


@pytest.mark.parametrize('make_cfg,num_classes', [(unet_cfg, 2),
                                                  (deeplab_cfg, 3)],
                         ids=['unet', 'deeplabv3'])
def test_exactness_step_equals_full(seg_scope, make_cfg, num_classes):
    """The exactness contract (docs/method.md): k = m*n, I = 1, BN eval,
    float64 -> the full computation.

    The batch has a non-square image whose sides are not patch multiples and
    a smaller one padded inside the batch.
    """
    model = build(make_cfg()).double()
    shapes, batch_shape = [(64, 80), (40, 50)], (64, 80)
    loss = assert_step_equals_full(
        model, batch(shapes, batch_shape),
        samples_for(shapes, batch_shape, num_classes))
    assert loss > 0


@pytest.mark.parametrize('make_cfg,num_classes', [(unet_cfg, 2),
                                                  (deeplab_cfg, 3)],
                         ids=['unet', 'deeplabv3'])
def test_exactness_full_gradient(seg_scope, make_cfg, num_classes):
    """gradient='full' (docs/method.md): every cell in one iteration, θ1's
    gradient pushed from dL/dZ back through chunks of 2 patches (the batch
    of two images has 12 cells) equals the full computation."""
    model = build(make_cfg(patch_cfg=dict(
        patch_size=32, gradient='full', backward_chunk=2,
        fill_chunk=4))).double()
    shapes, batch_shape = [(64, 80), (40, 50)], (64, 80)
    loss = assert_step_equals_full(
        model, batch(shapes, batch_shape),
        samples_for(shapes, batch_shape, num_classes))
    assert loss > 0
    assert model.last_step_stats.backward_chunk == 2
    assert model.last_step_stats.patches_per_iter == 6  # a 2x3 grid


def test_exactness_full_gradient_train_bn(seg_scope):
    """full_bn_mode='train' (the default): the fill's chunks of 4
    patches give the batch statistics, the backward re-encodes the same
    chunks with the running statistics left alone, so the gradient and the
    running statistics equal the full computation's (each patch counted
    once)."""
    model = build(unet_cfg(patch_cfg=dict(
        patch_size=32, gradient='full', fill_chunk=4))).double()
    shapes, batch_shape = [(64, 80), (40, 50)], (64, 80)
    assert model.patch_cfg.full_bn_mode == 'train'
    assert_step_equals_full(model, batch(shapes, batch_shape),
                            samples_for(shapes, batch_shape), train_bn=True)


@pytest.mark.parametrize('fusion', ['add', 'gated'])
def test_exactness_with_fusion_convs_and_add(seg_scope, fusion):
    from tests.test_models.test_classifier import open_gates
    model = open_gates(build(unet_cfg(num_fusion_convs=1,
                                      global_fusion=fusion)).double())
    shapes = [(40, 72)]
    assert_step_equals_full(model, batch(shapes, (40, 72)),
                            samples_for(shapes, (40, 72)))


def test_padding_never_reaches_loss(seg_scope):
    """An image alone, or padded inside a bigger batch, gives the same loss.

    Padding enters as zeros in the input and 255 (ignored) in the mask; the
    global patch takes only the image's own region. Compared on the terms
    that honour ignored pixels: mmseg 1.2.2's DiceLoss ``ignore_index``
    drops a class channel, not pixels, so stock mmseg's Dice counts padded
    pixels too (docs/reliability.md).
    """
    model = build(unet_cfg()).double()
    model.eval()
    x = batch([(40, 50)], (40, 50))
    alone = model.loss(x, samples_for([(40, 50)], (40, 50)))
    padded = torch.zeros(1, 3, 64, 96, dtype=torch.float64)
    padded[..., :40, :50] = x
    inside = model.loss(padded, samples_for([(40, 50)], (64, 96)))
    for key in ('loss_ce', 'acc_seg'):
        torch.testing.assert_close(alone[key], inside[key])


def test_predict_full_resolution_masks(seg_scope):
    """Masks come back at the original size, also smaller than one patch."""
    model = build(unet_cfg()).double().eval()
    for shape in [(20, 12), (70, 45)]:
        x = batch([shape], shape)
        with torch.no_grad():
            out = model.predict(x, samples_for([shape], shape))
        assert out[0].pred_sem_seg.data.shape == (1, *shape)
        assert out[0].seg_logits.data.shape == (2, *shape)
        # mode='tensor' gives the batch's logits
        assert model(x, mode='tensor').shape == (1, 2, *shape)


def test_training_step_changes_weights_and_logs(seg_scope):
    from mmengine.optim import OptimWrapper
    cfg = unet_cfg(patch_cfg=dict(patch_size=32, inner_iters=3,
                                  sample_fraction=0.25, accumulate=3))
    model = build(cfg)
    shapes = [(64, 96), (64, 96)]
    data = dict(inputs=[torch.randint(0, 255, (3, 64, 96), dtype=torch.uint8)
                        for _ in shapes],
                data_samples=samples_for(shapes, (64, 96)))
    optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.01))
    before = copy.deepcopy(model.state_dict())
    log_vars = model.train_step(data, optim)
    assert {'loss', 'loss_ce', 'loss_dice', 'acc_seg'} <= set(log_vars)
    assert model.last_step_stats.patches_per_iter == 2  # 0.25 * 6 cells
    assert model.last_step_stats.grid == (2, 3)
    assert int(model.patchgd_step) == 1
    changed = [k for k, v in model.state_dict().items()
               if v.dtype.is_floating_point and not torch.equal(v, before[k])]
    assert any(k.startswith('backbone') for k in changed)
    assert any(k.startswith('fusion_head') for k in changed)


@pytest.mark.parametrize('patch_cfg,match', [
    (dict(patch_size=30), 'not a multiple of 4'),
    (dict(patch_size=32, patches_per_iter=0), 'patches_per_iter'),
    (dict(patch_size=32, sampling='all'), 'sampling'),
    (dict(patch_size=32, accumulate=9), 'accumulate'),
    (dict(patch_size=32, fill_bn_mode='frozen'), 'fill_bn_mode'),
    (dict(patch_size=32, full_bn_mode='eval'), 'set fill_bn_mode'),
    (dict(patch_size=32, sample_fraction=1.5), 'sample_fraction'),
    (dict(patch_size=32, patches_per_iter='auto'), 'memory budget'),
    (dict(patch_size=32, memory_budget='lots'), 'lots'),
    (dict(patch_size=32, inner_itres=2), 'unknown keys'),
])
def test_config_validation(seg_scope, patch_cfg, match):
    with pytest.raises(ValueError, match=match):
        build(unet_cfg(patch_cfg=patch_cfg))


def test_patches_per_iter_larger_than_grid(seg_scope):
    from mmengine.optim import OptimWrapper
    model = build(unet_cfg(patch_cfg=dict(patch_size=32, patches_per_iter=7)))
    shapes = [(64, 96)]  # 2x3 = 6 cells
    data = dict(inputs=[torch.zeros(3, 64, 96)],
                data_samples=samples_for(shapes, (64, 96)))
    optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.01))
    with pytest.raises(ValueError, match='exceeds the 6 cells'):
        model.train_step(data, optim)


def test_auxiliary_head_rejected(seg_scope):
    cfg = unet_cfg(auxiliary_head=dict(type='FCNHead', in_channels=4,
                                       channels=4, num_classes=2))
    with pytest.raises(ValueError, match='auxiliary_head=None'):
        build(cfg)
