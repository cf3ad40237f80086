"""The exactness contract (docs/method.md) on CUDA, float64, for each task:
one PatchGD step with every patch equals the full computation. The same
models and batches as the CPU tests, moved to the GPU."""
import pytest
import torch

from tests.conftest import assert_step_equals_full
from tests.test_cuda import CUDA
from tests.test_models import test_classifier as cls
from tests.test_models import test_detector as det
from tests.test_models import test_segmentor as seg

pytestmark = CUDA
DEV = 'cuda'


def on_gpu(samples):
    return [s.to(DEV) for s in samples]


@pytest.mark.parametrize('make_cfg,num_classes', [(seg.unet_cfg, 2),
                                                  (seg.deeplab_cfg, 3)],
                         ids=['unet', 'deeplabv3'])
def test_segmentor_exactness_cuda(seg_scope, make_cfg, num_classes):
    model = seg.build(make_cfg()).double().to(DEV)
    shapes, batch_shape = [(64, 80), (40, 50)], (64, 80)
    loss = assert_step_equals_full(
        model, seg.batch(shapes, batch_shape).to(DEV),
        on_gpu(seg.samples_for(shapes, batch_shape, num_classes)))
    assert loss > 0


@pytest.mark.parametrize('towers_in_patch', [False, True])
def test_fcos_exactness_cuda(det_scope, towers_in_patch):
    model = det.build(det.fcos_cfg(towers_in_patch=towers_in_patch))
    model = model.double().to(DEV)
    shapes, batch_shape = [(256, 384), (200, 250)], (256, 384)
    g = torch.Generator().manual_seed(0)
    x = torch.randn(2, 3, *batch_shape, generator=g, dtype=torch.float64)
    x[1, :, 200:] = 0
    x[1, :, :, 250:] = 0
    samples = det.det_samples(
        shapes, [[[90., 80., 170., 190.], [300., 10., 360., 60.]],
                 [[20., 30., 120., 150.]]], [[0, 2], [1]], batch_shape,
        torch.float64)
    assert_step_equals_full(model, x.to(DEV), on_gpu(samples))


def cls_batch():
    """Two images in a 96x128 batch, the second 70x100 and padded."""
    shapes = [(96, 128), (70, 100)]
    x = torch.randn(2, 3, 96, 128, dtype=torch.float64,
                    generator=torch.Generator().manual_seed(0))
    x[1, :, 70:] = 0
    x[1, :, :, 100:] = 0
    return x.to(DEV), on_gpu(cls.cls_samples([1, 3], shapes))


@pytest.mark.parametrize('fusion', ['concat', None])
def test_classifier_exactness_cuda(cls_scope, fusion):
    model = cls.build(cls.cls_cfg(global_fusion=fusion)).double().to(DEV)
    assert_step_equals_full(model, *cls_batch())


# gradient='full' (docs/method.md): the same contract with dL/dZ pushed back
# through θ1 a chunk at a time, each chunk smaller than the batch's cells


@pytest.mark.parametrize('make_cfg,num_classes', [(seg.unet_cfg, 2),
                                                  (seg.deeplab_cfg, 3)],
                         ids=['unet', 'deeplabv3'])
def test_segmentor_full_gradient_exactness_cuda(seg_scope, make_cfg,
                                                num_classes):
    model = seg.build(make_cfg(patch_cfg=dict(
        patch_size=32, gradient='full', backward_chunk=2,
        fill_chunk=4))).double().to(DEV)
    shapes, batch_shape = [(64, 80), (40, 50)], (64, 80)
    assert_step_equals_full(
        model, seg.batch(shapes, batch_shape).to(DEV),
        on_gpu(seg.samples_for(shapes, batch_shape, num_classes)))
    assert model.last_step_stats.backward_chunk == 2


@pytest.mark.parametrize('towers_in_patch', [False, True])
def test_fcos_full_gradient_exactness_cuda(det_scope, towers_in_patch):
    cfg = det.fcos_cfg(towers_in_patch=towers_in_patch)
    cfg['patch_cfg'] = dict(patch_size=128, gradient='full', fill_chunk=4,
                            backward_chunk=5)
    model = det.build(cfg).double().to(DEV)
    x, samples = det.fcos_batch()
    assert_step_equals_full(model, x.to(DEV), on_gpu(samples))
    assert model.last_step_stats.gradient == 'full'


def test_classifier_full_gradient_exactness_cuda(cls_scope):
    model = cls.build(cls.cls_cfg(patch_cfg=dict(
        patch_size=32, gradient='full', backward_chunk=5,
        fill_chunk=5))).double().to(DEV)
    assert_step_equals_full(model, *cls_batch())


# kept chunks (patch_cfg.keep_chunks): the fill's first chunks keep their
# graphs; the step is exact whatever the number kept


@pytest.mark.parametrize('keep', [1, 99])
def test_segmentor_kept_chunks_exactness_cuda(seg_scope, keep):
    model = seg.build(seg.unet_cfg(patch_cfg=dict(
        patch_size=32, gradient='full', fill_chunk=4, keep_chunks=keep,
        full_bn_mode='train'))).double().to(DEV)
    shapes, batch_shape = [(64, 80), (40, 50)], (64, 80)
    assert_step_equals_full(
        model, seg.batch(shapes, batch_shape).to(DEV),
        on_gpu(seg.samples_for(shapes, batch_shape)), train_bn=True)
    assert model.last_step_stats.kept_chunks == min(keep, 3)


@pytest.mark.parametrize('keep', [1, 99])
def test_fcos_kept_chunks_exactness_cuda(det_scope, keep):
    cfg = det.fcos_cfg(towers_in_patch=True)
    cfg['patch_cfg'] = dict(patch_size=128, gradient='full', fill_chunk=4,
                            backward_chunk=5, keep_chunks=keep,
                            full_bn_mode='eval')
    model = det.build(cfg).double().to(DEV)
    x, samples = det.fcos_batch()
    assert_step_equals_full(model, x.to(DEV), on_gpu(samples))


@pytest.mark.parametrize('keep', [1, 99])
def test_classifier_kept_chunks_exactness_cuda(cls_scope, keep):
    model = cls.build(cls.cls_cfg(patch_cfg=dict(
        patch_size=32, gradient='full', fill_chunk=5, keep_chunks=keep,
        full_bn_mode='eval'))).double().to(DEV)
    assert_step_equals_full(model, *cls_batch())


@pytest.mark.parametrize('checkpoint', [0, 2])
def test_segmentor_uncheckpointed_exactness_cuda(seg_scope, checkpoint):
    """Every chunk kept and the plan's checkpoint=0: θ1's blocks and the
    global patch run without activation checkpointing; =2: only the first
    two blocks keep theirs."""
    from mmpatch.patchgd import StepPlan
    cfg = seg.unet_cfg(patch_cfg=dict(
        patch_size=32, gradient='full', fill_chunk=4, keep_chunks=99,
        full_bn_mode='eval', with_cp=True))
    cfg['backbone']['with_cp'] = True
    model = seg.build(cfg).double().to(DEV)
    model.set_step_plan(StepPlan(checkpoint=checkpoint))
    shapes, batch_shape = [(64, 80), (40, 50)], (64, 80)
    assert_step_equals_full(
        model, seg.batch(shapes, batch_shape).to(DEV),
        on_gpu(seg.samples_for(shapes, batch_shape)))
