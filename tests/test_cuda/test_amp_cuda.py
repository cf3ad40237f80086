"""One AMP training step (mmengine's AmpOptimWrapper) in bf16 and in fp16
for each task on CUDA: the loss is finite and the weights change."""
import copy

import pytest
import torch

from tests.test_cuda import CUDA
from tests.test_models import test_classifier as cls
from tests.test_models import test_detector as det
from tests.test_models import test_segmentor as seg

pytestmark = CUDA


def uint8_images(shapes, seed=0):
    g = torch.Generator().manual_seed(seed)
    return [torch.randint(0, 256, (3, h, w), generator=g, dtype=torch.uint8)
            for h, w in shapes]


def seg_case():
    cfg = seg.unet_cfg(patch_cfg=dict(patch_size=32, inner_iters=2,
                                      sample_fraction=0.25))
    shapes = [(64, 96), (64, 96)]
    return seg.build(cfg), dict(inputs=uint8_images(shapes),
                                data_samples=seg.samples_for(shapes,
                                                             (64, 96)))


def det_case():
    cfg = det.fcos_cfg(patch_cfg=dict(patch_size=128, inner_iters=2,
                                      sample_fraction=0.5))
    shapes = [(256, 384), (256, 384)]
    samples = det.det_samples(
        shapes, [[[90., 80., 170., 190.]], [[20., 30., 120., 150.]]],
        [[0], [1]], (256, 384))
    return det.build(cfg), dict(inputs=uint8_images(shapes),
                                data_samples=samples)


def cls_case():
    cfg = cls.cls_cfg(patch_cfg=dict(patch_size=32, inner_iters=2,
                                     sample_fraction=0.5))
    shapes = [(64, 96), (64, 96)]
    return cls.build(cfg), dict(inputs=uint8_images(shapes),
                                data_samples=cls.cls_samples([0, 2], shapes))


CASES = dict(seg=(seg_case, 'seg_scope'), det=(det_case, 'det_scope'),
             cls=(cls_case, 'cls_scope'))


@pytest.mark.parametrize('dtype', ['bfloat16', 'float16'])
@pytest.mark.parametrize('task', list(CASES))
def test_amp_step(request, task, dtype):
    from mmengine.optim import AmpOptimWrapper
    make, scope = CASES[task]
    request.getfixturevalue(scope)
    model, data = make()
    model = model.cuda()
    # a moderate initial loss scale: fp16 gradients of 65536 x the loss
    # overflow in small models, and the scaler would skip the step
    optim = AmpOptimWrapper(
        optimizer=torch.optim.SGD(model.parameters(), lr=0.01),
        dtype=dtype, loss_scale=dict(init_scale=2.**10))
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    changed = []
    for _ in range(3):  # the scaler may back off from an overflow
        log_vars = model.train_step(copy.deepcopy(data), optim)
        assert torch.isfinite(log_vars['loss']), log_vars
        changed = [n for n, p in model.named_parameters()
                   if not torch.equal(p.detach(), before[n])]
        if changed:
            break
    assert len(changed) > 0.5 * len(before), changed
    assert all(p.dtype == torch.float32 for p in model.parameters())
    assert model.last_step_stats.patches_per_iter >= 1
