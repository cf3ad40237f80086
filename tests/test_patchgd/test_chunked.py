"""The chunked backward of gradient='full' (and of a sampled step with a
backward_chunk): memory that does not grow with k, mixed precision, and the
sampled step's numbers kept."""
import copy
import warnings
from contextlib import contextmanager

import pytest
import torch
from mmengine.model import BaseDataPreprocessor
from mmengine.optim import OptimWrapper

from mmpatch.memory import MemoryMeter


def _cls_model(patch_cfg, fusion=None):
    from tests.test_models.test_classifier import build, cls_cfg
    model = build(cls_cfg(
        global_fusion=fusion, latent_channels=256, patch_cfg=patch_cfg,
        grid_head=dict(num_blocks=0, dropout=0.0),
        head=dict(type='LinearClsHead', num_classes=4,
                  in_channels=512 if fusion == 'concat' else 256,
                  loss=dict(type='CrossEntropyLoss'))))
    model.data_preprocessor = BaseDataPreprocessor()
    return model.train()


def _step_peak(model, side):
    """Peak bytes of one step over what is live before it (weights,
    gradients, optimizer state, the batch), after a warm-up step."""
    from tests.test_models.test_classifier import cls_samples
    optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=1e-3))
    batch = dict(inputs=torch.randn(2, 3, side, side),
                 data_samples=cls_samples([1, 2], [(side, side)] * 2))
    model.train_step(copy.deepcopy(batch), optim)
    data = copy.deepcopy(batch)
    with MemoryMeter('cpu', track=[model, optim, data]) as meter:
        model.train_step(data, optim)
    return meter.peak_delta_bytes, model.last_step_stats.latent_bytes


@pytest.mark.parametrize('fusion', [None, 'add', 'concat'])
def test_full_gradient_peak_grows_with_z_only(cls_scope, fusion):
    """At a fixed chunk (4 patches), 4x the cells (4x4 -> 8x8 grid of 32 px
    patches, two images) grow the step's peak by no more than Z's and
    dL/dZ's growth plus 10 %, although every cell is back-propagated; the
    one-pass step over every cell grows by all their activations. With
    concat fusion dL/dZ arrives as a slice of the concatenation's gradient,
    which must not be what the chunked backward keeps."""
    full = dict(patch_size=32, gradient='full', fill_chunk=4)
    (small, z_small), (large, z_large) = (
        _step_peak(_cls_model(full, fusion), side) for side in (128, 256))
    bound = 2 * (z_large - z_small)  # Z and dL/dZ
    assert large - small <= 1.1 * bound, (large - small, bound)
    one_pass = dict(patch_size=32, inner_iters=1, sample_fraction=1.0,
                    fill_chunk=4)
    (small, _), (large, _) = (_step_peak(_cls_model(one_pass, fusion), side)
                              for side in (128, 256))
    assert large - small > 10 * bound


class ScaledBF16Wrapper(OptimWrapper):
    """``AmpOptimWrapper``'s mechanics on a CPU (which mmengine's wrapper
    refuses): bf16 autocast around the forwards and a static loss scale,
    undone before the update."""

    scale = 1024.0

    @contextmanager
    def optim_context(self, model):
        with super().optim_context(model), torch.autocast(
                'cpu', dtype=torch.bfloat16):
            yield

    def backward(self, loss, **kwargs):
        super().backward(loss * self.scale, **kwargs)

    def step(self, **kwargs):
        for group in self.optimizer.param_groups:
            for p in group['params']:
                if p.grad is not None:
                    p.grad /= self.scale
        super().step(**kwargs)


def test_full_gradient_under_autocast_and_loss_scale(seg_scope):
    """The scaled loss's gradient flows through Z in the autocast dtype:
    Z is bf16, and the update matches the float32 step's to bf16
    precision."""
    from tests.test_models.test_segmentor import (batch, build, samples_for,
                                                  unet_cfg)
    cfg = unet_cfg(patch_cfg=dict(patch_size=32, gradient='full',
                                  fill_chunk=4))
    shapes = [(64, 80), (40, 50)]
    data = dict(inputs=batch(shapes, (64, 80)).float(),
                data_samples=samples_for(shapes, (64, 80)))
    updates, dtypes = [], []
    for wrapper in (OptimWrapper, ScaledBF16Wrapper):
        model = build(cfg)
        model.data_preprocessor = BaseDataPreprocessor()
        model.train()
        original = model.loss_by_latent

        def spy(latent, *args, original=original):
            dtypes.append(latent.maps[0].dtype)
            return original(latent, *args)

        model.loss_by_latent = spy
        before = {n: p.detach().clone() for n, p in model.named_parameters()}
        optim = wrapper(torch.optim.SGD(model.parameters(), lr=1.0))
        log_vars = model.train_step(copy.deepcopy(data), optim)
        assert torch.isfinite(log_vars['loss'])
        updates.append(torch.cat([(before[n] - p.detach()).flatten()
                                  for n, p in model.named_parameters()]))
    assert dtypes == [torch.float32, torch.bfloat16]
    ref, amp = updates
    assert ref.abs().sum() > 0
    cos = torch.nn.functional.cosine_similarity(ref, amp, dim=0)
    assert cos > 0.99, float(cos)


def test_sampled_backward_chunk_keeps_the_numbers(seg_scope):
    """A sampled step with backward_chunk (θ1 without batch statistics:
    GroupNorm) gives the one-pass step's update, in less memory."""
    from tests.test_models.test_segmentor import build, samples_for, unet_cfg
    gn = dict(type='GN', num_groups=2, requires_grad=True)
    data = dict(inputs=[torch.randint(0, 255, (3, 64, 128),
                                      dtype=torch.uint8) for _ in range(2)],
                data_samples=samples_for([(64, 128)] * 2, (64, 128)))
    states, peaks = [], []
    for chunk in (None, 2):
        cfg = unet_cfg(patch_cfg=dict(patch_size=32, inner_iters=2,
                                      sample_fraction=0.5, backward_chunk=chunk,
                                      seed=3))
        cfg['backbone']['norm_cfg'] = gn
        cfg['decode_head']['norm_cfg'] = gn
        model = build(cfg).train()
        optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1))
        batch = copy.deepcopy(data)
        with MemoryMeter('cpu', track=[model, optim, batch]) as meter:
            model.train_step(batch, optim)
        states.append(model.state_dict())
        peaks.append(meter.peak_delta_bytes)
    for key, value in states[0].items():
        torch.testing.assert_close(states[1][key], value, rtol=1e-5,
                                   atol=1e-6, msg=key)
    assert peaks[1] < peaks[0], peaks


@pytest.mark.parametrize('options,match', [
    (dict(inner_iters=2), 'inner_iters=2; remove inner_iters'),
    (dict(sample_fraction=0.5), 'sample_fraction=0.5'),
    (dict(accumulate=2), 'accumulate=2'),
    (dict(patches_per_iter=3), 'patches_per_iter=3 has no meaning'),
    (dict(backward_chunk=0), 'backward_chunk must be an int >= 1'),
])
def test_full_gradient_config_errors(options, match):
    from mmpatch.patchgd import PatchGDConfig
    with pytest.raises(ValueError, match=match):
        PatchGDConfig.build(dict(gradient='full', **options))
    with pytest.raises(ValueError, match="gradient must be one of"):
        PatchGDConfig.build(dict(gradient='exact'))


def test_full_gradient_modes_defaults():
    from mmpatch.patchgd import PatchGDConfig
    with pytest.warns(UserWarning, match='without full_bn_mode'):
        full = PatchGDConfig.build(dict(gradient='full'))
    assert (full.inner_iters, full.sample_fraction, full.accumulate,
            full.full_bn_mode, full.fill_bn_mode) == (1, 1.0, 1, 'train',
                                                      None)
    sampled = PatchGDConfig.build({})
    assert (sampled.inner_iters, sampled.sample_fraction,
            sampled.fill_bn_mode, sampled.full_bn_mode) == (4, 0.25, 'eval',
                                                            None)


@pytest.mark.parametrize('options,match', [
    (dict(gradient='full', full_bn_mode='eval', fill_bn_mode='eval'),
     "fill_bn_mode applies to gradient='sampled' only.*set full_bn_mode"),
    (dict(full_bn_mode='eval'),
     "full_bn_mode applies to gradient='full' only.*set fill_bn_mode"),
    (dict(gradient='full', full_bn_mode='frozen'),
     'full_bn_mode must be one of'),
])
def test_bn_mode_is_named_per_gradient_mode(options, match):
    """Each gradient mode has its own BatchNorm option (they govern
    different things: the fill, or the whole step); the other mode's is
    refused with the key to use."""
    from mmpatch.patchgd import PatchGDConfig
    with pytest.raises(ValueError, match=match):
        PatchGDConfig.build(options)


def test_full_gradient_warns_when_bn_mode_is_left_to_default():
    """A ``_delete_=True`` over a base's patch_cfg drops its
    ``full_bn_mode='eval'`` too: the full mode's default then normalises each
    chunk by its own statistics (UltraDigits-cls, pretrained θ1: 45.7 %
    against 99.0 % top-1), so leaving it unset says so; setting it, or the
    sampled mode, is silent."""
    from mmpatch.patchgd import PatchGDConfig
    with pytest.warns(UserWarning, match="full_bn_mode='eval'"):
        PatchGDConfig.build(dict(gradient='full'))
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        for cfg in (dict(gradient='full', full_bn_mode='train'),
                    dict(gradient='full', full_bn_mode='eval'), {}):
            PatchGDConfig.build(cfg)


def test_train_bn_needs_equal_chunks(seg_scope):
    """full_bn_mode='train' normalises each chunk by its own statistics: a
    backward chunk other than the fill chunk would re-encode different
    features, so the step refuses it and names both fixes."""
    from tests.test_models.test_segmentor import build, samples_for, unet_cfg
    model = build(unet_cfg(patch_cfg=dict(
        patch_size=32, gradient='full', fill_chunk=4, backward_chunk=2)))
    model.train()
    data = dict(inputs=[torch.randint(0, 255, (3, 64, 96), dtype=torch.uint8)],
                data_samples=samples_for([(64, 96)], (64, 96)))
    optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1))
    with pytest.raises(ValueError, match=r'backward chunk \(2\) must equal '
                       r"the fill chunk \(4\).*full_bn_mode='eval'"):
        model.train_step(data, optim)


def test_full_gradient_bn_eval_freezes_theta1_norms(seg_scope):
    """full_bn_mode='eval' in gradient='full': θ1's BatchNorm uses and keeps its
    running statistics in the whole step (norm_eval), the global patch
    included, and is back in train mode afterwards."""
    from torch.nn.modules.batchnorm import _BatchNorm

    from tests.test_models.test_segmentor import build, samples_for, unet_cfg
    model = build(unet_cfg(patch_cfg=dict(
        patch_size=32, gradient='full', fill_chunk=4, backward_chunk=2,
        full_bn_mode='eval'))).train()
    norms = [m for mod in model.patch_encoder_modules()
             for m in mod.modules() if isinstance(m, _BatchNorm)]
    before = [(m.running_mean.clone(), m.running_var.clone()) for m in norms]
    modes = []
    handle = norms[0].register_forward_pre_hook(
        lambda m, args: modes.append(m.training))
    data = dict(inputs=[torch.randint(0, 255, (3, 64, 96), dtype=torch.uint8)],
                data_samples=samples_for([(64, 96)], (64, 96)))
    model.train_step(data, OptimWrapper(
        torch.optim.SGD(model.parameters(), lr=0.1)))
    handle.remove()
    assert modes and not any(modes)  # fill, global patch, chunked backward
    for m, (mean, var) in zip(norms, before):
        assert torch.equal(m.running_mean, mean)
        assert torch.equal(m.running_var, var)
        assert m.training


def test_leaves_keep_no_more_than_dz():
    """Concatenated with G in a batch of one, Z's gradient arrives as a
    contiguous slice of the concatenation's, which autograd would keep as
    the leaf's .grad, and with it the whole concatenation's gradient (a
    Z-sized buffer more through the chunked backward, seen on FCOS-R50):
    the leaves keep dL/dZ in a storage of its own."""
    from mmpatch.patchgd import LatentBuffer, PatchGrid
    grid = PatchGrid((64, 64), (32, 32), batch_size=1)
    z = LatentBuffer(grid, [torch.randn(1, 8, 16, 16)]).leaves()
    g = torch.randn(1, 8, 16, 16)
    (torch.cat([z.maps[0], g], dim=1) * 2).sum().backward()
    grad = z.maps[0].grad
    assert grad.untyped_storage().nbytes() == grad.numel() * 4
    torch.testing.assert_close(grad, torch.full_like(grad, 2.0))
