"""mmpatch's hooks inside a real mmengine Runner on generated data."""
import os.path as osp

import pytest
import torch

from tests.test_models.test_segmentor import unet_cfg

MiB = 2**20


@pytest.fixture(scope='module')
def tiny_data(tmp_path_factory):
    from mmpatch.datasets import generate_ultradigits
    out = str(tmp_path_factory.mktemp('ud'))
    generate_ultradigits(out, canvas_size=128, num_train=4, num_val=1,
                         num_test=1)
    return out


#: what configs/_base_/patchgd_runtime.py gives every PatchGD config
RUNTIME_HOOKS = [dict(type='MemoryLoggerHook'), dict(type='MemoryBudgetHook'),
                 dict(type='LazyImageCheckHook')]


def runner_cfg(data_root, work_dir, max_iters=4, hook=None, **patch):
    from mmengine.config import Config
    patch_cfg = dict(patch_size=32, inner_iters=2, sample_fraction=0.25)
    patch_cfg.update(patch)
    model = unet_cfg(patch_cfg=patch_cfg)
    model['data_preprocessor']['size_divisor'] = 32
    pipeline = [dict(type='LoadImageFromFile'), dict(type='LoadAnnotations'),
                dict(type='PackSegInputs')]
    return Config(dict(
        default_scope='mmseg',
        model=model,
        work_dir=work_dir,
        train_dataloader=dict(
            batch_size=2, num_workers=0,
            sampler=dict(type='InfiniteSampler', shuffle=True),
            dataset=dict(type='BaseSegDataset', data_root=data_root,
                         data_prefix=dict(img_path='images/train',
                                          seg_map_path='masks/train'),
                         img_suffix='.png', seg_map_suffix='.png',
                         metainfo=dict(classes=('background', 'stroke')),
                         pipeline=pipeline)),
        train_cfg=dict(type='IterBasedTrainLoop', max_iters=max_iters),
        optim_wrapper=dict(type='OptimWrapper',
                           optimizer=dict(type='Adam', lr=1e-3)),
        default_hooks=dict(
            logger=dict(type='LoggerHook', interval=1),
            checkpoint=dict(type='CheckpointHook', by_epoch=False,
                            interval=max_iters)),
        custom_hooks=RUNTIME_HOOKS + ([hook] if hook else []),
        log_processor=dict(by_epoch=False),
        randomness=dict(seed=0),
        env_cfg=dict(dist_cfg=dict(backend='gloo'))))


def _run(cfg, hook_type='MemoryLoggerHook'):
    import mmpatch.models.segmentor  # noqa: F401
    from mmengine.runner import Runner
    runner = Runner.from_cfg(cfg)
    runner.train()
    hook = next(h for h in runner.hooks if type(h).__name__ == hook_type)
    return runner, hook


def _history(runner, key):
    return runner.message_hub.get_scalar(f'train/{key}').data[0]


def test_hook_interval_measures_some_iterations(seg_scope, tiny_data,
                                                tmp_path):
    """MemoryLoggerHook(interval=3): the first two iterations and every
    third are metered, the others run without the meter."""
    cfg = runner_cfg(tiny_data, str(tmp_path), max_iters=4)
    cfg.custom_hooks = [dict(type='MemoryLoggerHook', interval=3)]
    runner, hook = _run(cfg)
    assert len(_history(runner, 'memory/peak_mb')) == 3  # iters 0, 1, 3
    assert hook.max_peak_bytes > 0
    with pytest.raises(ValueError):
        from mmpatch.engine.hooks import MemoryLoggerHook
        MemoryLoggerHook(interval=0)


def test_hook_logs_memory_latent_and_fill_time(seg_scope, tiny_data,
                                               tmp_path):
    runner, hook = _run(runner_cfg(tiny_data, str(tmp_path)))
    for key in hook.summary_keys():
        values = _history(runner, key)
        assert len(values) == 4, key
    peaks = _history(runner, 'memory/peak_mb')
    assert all(p > 0 for p in peaks)
    # Z of a 128x128 batch of 2 at stride 1 with 3 latent channels
    assert _history(runner, 'memory/latent_mb')[-1] == pytest.approx(
        2 * 3 * 128 * 128 * 4 / MiB)
    log = open(osp.join(runner.log_dir, f'{runner.timestamp}.log')).read()
    assert 'memory/peak_mb' in log and 'memory/latent_mb' in log


def test_hook_plans_budget_and_holds_it(seg_scope, tiny_data, tmp_path):
    runner, hook = _run(runner_cfg(tiny_data, str(tmp_path), max_iters=3,
                                   patches_per_iter='auto',
                                   memory_budget='40M'), 'MemoryBudgetHook')
    assert hook.fit is not None and 1 <= hook.fit.patches_per_iter <= 16
    assert runner.model.step_plan.patches_per_iter is not None
    assert max(_history(runner, 'memory/peak_mb')) <= 40


def test_hook_budget_too_small_stops_before_training(seg_scope, tiny_data,
                                                     tmp_path):
    from mmpatch.memory.planner import BudgetError
    with pytest.raises(BudgetError, match='too small'):
        _run(runner_cfg(tiny_data, str(tmp_path), patches_per_iter='auto',
                        memory_budget='64K'))
    assert not osp.exists(osp.join(str(tmp_path), 'iter_1.pth'))


def test_latent_cache_skips_fill_and_roundtrips(seg_scope, tiny_data,
                                                tmp_path):
    hook = dict(type='LatentCacheHook', refresh_interval=3)
    runner, h = _run(runner_cfg(tiny_data, str(tmp_path), max_iters=6,
                                hook=hook), 'LatentCacheHook')
    # 4 images, batches of 2: visits 1 fill, visits 2 and 3 reuse
    assert h.cache.hits > 0 and len(h.cache.entries) == 4
    ckpt = torch.load(osp.join(str(tmp_path), 'iter_6.pth'))
    assert len(ckpt['latent_cache']['entries']) == 4
    h.cache.entries.clear()
    h.after_load_checkpoint(runner, ckpt)
    assert len(h.cache.entries) == 4


def test_recalibrate_norm_stats_averages_every_forward(seg_scope):
    """Precise BN: θ1's running statistics become the plain average of the
    batch statistics of every forward it makes (all cells in groups of k,
    each followed by the global patch); momentum and modes are restored."""
    from mmseg.registry import MODELS
    from torch.nn.modules.batchnorm import _BatchNorm

    from tests.test_models.test_data_preprocessors import seg_batch
    model = MODELS.build(unet_cfg(patch_cfg=dict(
        patch_size=32, inner_iters=2, sample_fraction=0.25)))
    model.eval()
    bn = next(m for m in model.backbone.modules()
              if isinstance(m, _BatchNorm))
    seen = []
    handle = bn.register_forward_pre_hook(lambda m, args: seen.append(
        (args[0].mean((0, 2, 3)), args[0].transpose(0, 1).flatten(1).var(1))))
    assert model.recalibrate_norm_stats([seg_batch([(64, 96)])] * 2) > 0
    handle.remove()
    # 6 cells in groups of k = 2, each with the global patch: 6 forwards,
    # twice
    assert len(seen) == 12
    torch.testing.assert_close(bn.running_mean,
                               torch.stack([m for m, _ in seen]).mean(0))
    torch.testing.assert_close(bn.running_var,
                               torch.stack([v for _, v in seen]).mean(0))
    assert bn.momentum == 0.1 and not bn.training


def test_recalibrate_norm_stats_full_gradient_proportions(seg_scope):
    """With gradient='full' the training forwards are the fill's chunks and
    one global patch per batch: 6 cells in chunks of 4 -> 2 + 1 forwards."""
    from mmseg.registry import MODELS
    from torch.nn.modules.batchnorm import _BatchNorm

    from tests.test_models.test_data_preprocessors import seg_batch
    model = MODELS.build(unet_cfg(patch_cfg=dict(
        patch_size=32, gradient='full', fill_chunk=4)))
    bn = next(m for m in model.backbone.modules()
              if isinstance(m, _BatchNorm))
    sizes = []
    handle = bn.register_forward_pre_hook(
        lambda m, args: sizes.append(args[0].shape[0]))
    model.recalibrate_norm_stats([seg_batch([(64, 96)])] * 2)
    handle.remove()
    assert sizes == [4, 2, 1] * 2


def test_precise_bn_before_checkpoint_and_validation(seg_scope, tiny_data,
                                                     tmp_path):
    """precise_bn=dict(num_batches, interval) recalibrates every interval
    iterations and after the last, before that iteration's checkpoint is
    written: the checkpoint holds the recalibrated statistics."""
    hook = dict(type='PatchPreciseBNHook', num_batches=2, interval=2)
    runner, _ = _run(runner_cfg(tiny_data, str(tmp_path), max_iters=3,
                                hook=hook))
    log = open(osp.join(runner.log_dir, f'{runner.timestamp}.log')).read()
    assert 'from 2 batches at iteration 2' in log
    assert 'from 2 batches at iteration 3' in log
    ckpt = torch.load(osp.join(str(tmp_path), 'iter_3.pth'),
                      weights_only=False)['state_dict']
    for name, value in runner.model.state_dict().items():
        if name.endswith('running_mean'):
            assert torch.equal(ckpt[name], value.cpu()), name


def test_precise_bn_config_errors():
    from mmpatch.engine.hooks import PatchPreciseBNHook
    with pytest.raises(ValueError, match=r'dict\(num_batches=N, interval=T\)'):
        PatchPreciseBNHook(num_batches=0, interval=2)
    with pytest.raises(ValueError, match='positive ints'):
        PatchPreciseBNHook(num_batches=4, interval=True)
    with pytest.raises(TypeError, match='batches'):
        PatchPreciseBNHook(batches=4)
