"""Kept chunks (``patch_cfg.keep_chunks``, #31): the full-gradient step
runs the fill's first chunks with gradients and back-propagates their kept
graphs instead of re-encoding them. Whatever the number kept, the step
equals the full computation (float64, loss and every parameter gradient);
with every chunk kept, θ1 runs once per cell."""
import copy

import pytest
import torch
from mmengine.optim import OptimWrapper

from tests.conftest import assert_step_equals_full

#: 0 re-encodes every chunk (the step before #31), 1 keeps one, 99 all
KEEP = [0, 1, 99]


@pytest.mark.parametrize('keep', KEEP)
@pytest.mark.parametrize('train_bn', [False, True], ids=['bn_eval', 'bn_train'])
def test_segmentor_exact_whatever_is_kept(seg_scope, keep, train_bn):
    """U-Net, 12 cells in chunks of 4 (3 fill chunks); BatchNorm in train
    mode too, whose running statistics must move once per patch."""
    from tests.test_models.test_segmentor import (batch, build, samples_for,
                                                  unet_cfg)
    model = build(unet_cfg(patch_cfg=dict(
        patch_size=32, gradient='full', fill_chunk=4, keep_chunks=keep,
        full_bn_mode='train'))).double()
    shapes, batch_shape = [(64, 80), (40, 50)], (64, 80)
    assert_step_equals_full(model, batch(shapes, batch_shape),
                            samples_for(shapes, batch_shape), train_bn=train_bn)
    assert model.last_step_stats.kept_chunks == min(keep, 3)


@pytest.mark.parametrize('keep', KEEP)
def test_detector_exact_whatever_is_kept(det_scope, keep):
    """FCOS with its towers in θ1; the fill chunk (4) differs from the
    backward chunk (5), so the cells after the kept ones are re-chunked."""
    from tests.test_models.test_detector import build, fcos_batch, fcos_cfg
    cfg = fcos_cfg(towers_in_patch=True)
    cfg['patch_cfg'] = dict(patch_size=128, gradient='full', fill_chunk=4,
                            backward_chunk=5, keep_chunks=keep,
                            full_bn_mode='eval')
    model = build(cfg).double()
    assert_step_equals_full(model, *fcos_batch())


@pytest.mark.parametrize('keep', KEEP)
def test_classifier_exact_whatever_is_kept(cls_scope, keep):
    """24 cells in fill chunks of 5 (the last one of 4)."""
    from tests.test_models.test_classifier import build, cls_cfg, cls_samples
    model = build(cls_cfg(patch_cfg=dict(
        patch_size=32, gradient='full', fill_chunk=5, keep_chunks=keep,
        full_bn_mode='eval'))).double()
    shapes = [(96, 128), (70, 100)]
    x = torch.randn(2, 3, 96, 128, dtype=torch.float64)
    x[1, :, 70:] = 0
    x[1, :, :, 100:] = 0
    assert_step_equals_full(model, x, cls_samples([1, 3], shapes))
    assert model.last_step_stats.kept_chunks == min(keep, 5)


@pytest.mark.parametrize('keep,patch_forwards', [(0, 12 + 12), (1, 12 + 8),
                                                 (3, 12)])
def test_kept_chunks_are_not_encoded_again(seg_scope, keep, patch_forwards):
    """θ1 sees each patch once in the fill and once more per re-encoded
    chunk: with all three chunks kept, once in all."""
    from tests.test_models.test_segmentor import build, samples_for, unet_cfg
    model = build(unet_cfg(patch_cfg=dict(
        patch_size=32, gradient='full', fill_chunk=4, keep_chunks=keep,
        full_bn_mode='eval'))).train()
    seen = []
    encode = model.encode_patches
    model.encode_patches = lambda x: (seen.append(len(x)), encode(x))[1]
    data = dict(inputs=[torch.randint(0, 255, (3, 64, 96), dtype=torch.uint8)
                        for _ in range(2)],
                data_samples=samples_for([(64, 96)] * 2, (64, 96)))
    model.train_step(data, OptimWrapper(torch.optim.SGD(model.parameters(),
                                                        lr=0.01)))
    # + the global patches of the 2 images (encode_global is θ1 here)
    assert sum(seen) == patch_forwards + 2


def test_keep_chunks_is_a_full_gradient_option():
    from mmpatch.patchgd import PatchGDConfig
    with pytest.raises(ValueError, match="keep_chunks applies to "
                       "gradient='full'"):
        PatchGDConfig.build(dict(keep_chunks=1))
    with pytest.raises(ValueError, match='keep_chunks must be an int >= 0'):
        PatchGDConfig.build(dict(gradient='full', full_bn_mode='eval',
                                 keep_chunks=-1))


def _task_model_and_batch(task: str, keep: int):
    """The exactness tests' tiny models (float32), full gradient with
    ``keep`` chunks kept, and a batch for each."""
    if task == 'seg':
        from tests.test_models.test_segmentor import (batch, build,
                                                      samples_for, unet_cfg)
        model = build(unet_cfg(patch_cfg=dict(
            patch_size=32, gradient='full', fill_chunk=4, keep_chunks=keep,
            full_bn_mode='eval')))
        shapes = [(128, 160)] * 2
        return model, batch(shapes, shapes[0]).float(), samples_for(
            shapes, shapes[0])
    if task == 'det':
        from tests.test_models.test_detector import (build, fcos_batch,
                                                     fcos_cfg)
        cfg = fcos_cfg(towers_in_patch=True)
        cfg['patch_cfg'] = dict(patch_size=128, gradient='full',
                                fill_chunk=2, keep_chunks=keep,
                                full_bn_mode='eval')
        x, samples = fcos_batch()
        for s in samples:
            s.gt_instances.bboxes = s.gt_instances.bboxes.float()
        return build(cfg), x.float(), samples
    from tests.test_models.test_classifier import build, cls_cfg, cls_samples
    model = build(cls_cfg(patch_cfg=dict(
        patch_size=32, gradient='full', fill_chunk=4, keep_chunks=keep,
        full_bn_mode='eval')))
    shapes = [(128, 128)] * 2
    return model, torch.randn(2, 3, 128, 128), cls_samples([1, 3], shapes)


def _peak(fn, model) -> int:
    from mmpatch.memory.meter import MemoryMeter
    with MemoryMeter('cpu', track=[model]) as meter:
        fn()
    return meter.peak_bytes


@pytest.mark.parametrize('task', ['seg', 'det', 'cls'])
def test_every_chunk_kept_costs_the_full_computation(task, request):
    """With every chunk kept the step holds one graph of every cell, as the
    full computation does (``model.loss`` over all patches with gradients,
    then its backward): its peak is within 10 % of that one's."""
    from mmengine.model import BaseDataPreprocessor
    request.getfixturevalue(f'{task}_scope')
    model, inputs, samples = _task_model_and_batch(task, keep=99)
    model.data_preprocessor = BaseDataPreprocessor()
    ref = copy.deepcopy(model)

    def full():
        loss, _ = ref.parse_losses(ref.loss(inputs, copy.deepcopy(samples)))
        loss.backward()

    optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.01))
    full_peak = _peak(full, ref)
    step_peak = _peak(lambda: model.train_step(
        dict(inputs=inputs, data_samples=copy.deepcopy(samples)), optim),
        model)
    assert model.last_step_stats.kept_chunks > 1
    assert abs(step_peak / full_peak - 1) <= 0.10, (step_peak, full_peak)
