"""Kill a training run with SIGKILL, resume it, reach the uninterrupted run.

issue 8: ``tools/train.py`` trains a tiny U-Net ``PatchGlobalSegmentor`` on
a generated UltraDigits split (6 canvases of 128 px, batch 2: an epoch is 3
iterations) with an ``IterBasedTrainLoop``, an ``InfiniteSampler`` with
shuffling, ``RandomFlip``, Adam with a warm-up scheduler, gradient clipping
and a checkpoint every 2 iterations. One run is killed with SIGKILL once
``iter_4.pth`` is complete (``last_checkpoint`` names it), i.e. mid-epoch,
and resumed with ``--resume``; another runs uninterrupted. The final weights,
the optimizer state, the scheduler state and the ``patchgd_step`` buffer (the
cell sampler's position) must agree. ``LatentCacheHook``'s host latent
cache is on, so the resumed run must also get the cached Z back.

What makes this work, all in mmengine 0.10.7 except the last point:
``IterBasedTrainLoop.run`` advances the dataloader by the resumed iteration
count ("Advance dataloader N steps"), which replays the InfiniteSampler's
shuffled order and the pipeline's numpy draws (RandomFlip) of the skipped
batches; ``Runner.resume`` restores the optimizer, schedulers and
message hub and keeps ``randomness.seed``; mmpatch's cell sampler derives
each step's cells from (seed, ``patchgd_step``, image), and
``patchgd_step`` is a persistent buffer saved with the weights.
"""
import os
import os.path as osp
import signal
import subprocess
import sys
import textwrap
import time

import pytest
import torch

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
MAX_ITERS = 16

CONFIG = '''
default_scope = 'mmseg'
custom_imports = dict(imports=['mmpatch.models.segmentor'],
                      allow_failed_imports=False)
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    type='PatchGlobalSegmentor',
    data_preprocessor=dict(
        type='SegDataPreProcessor', mean=[0., 0., 0.], std=[255., 255., 255.],
        bgr_to_rgb=True, pad_val=0, seg_pad_val=255, size_divisor=32),
    backbone=dict(
        type='UNet', in_channels=3, base_channels=4, num_stages=3,
        strides=(1, 1, 1), enc_num_convs=(1, 1, 1), dec_num_convs=(1, 1),
        downsamples=(True, True), enc_dilations=(1, 1, 1),
        dec_dilations=(1, 1), norm_cfg=norm_cfg,
        upsample_cfg=dict(type='InterpConv')),
    decode_head=dict(
        type='FCNHead', in_channels=4, in_index=2, channels=4, num_convs=1,
        concat_input=False, dropout_ratio=0.0, num_classes=2,
        norm_cfg=norm_cfg, align_corners=False,
        loss_decode=[
            dict(type='CrossEntropyLoss', loss_weight=1.0,
                 avg_non_ignore=True),
            dict(type='DiceLoss', loss_weight=1.0)]),
    test_cfg=dict(mode='whole'),
    patch_cfg=PATCH_CFG,
    latent_channels=3)
model_wrapper_cfg = dict(type='PatchGDDistributedDataParallel')
train_dataloader = dict(
    batch_size=2, num_workers=0,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type='BaseSegDataset', data_root=DATA_ROOT,
        metainfo=dict(classes=('background', 'stroke'),
                      palette=[[0, 0, 0], [255, 64, 64]]),
        data_prefix=dict(img_path='images/train', seg_map_path='masks/train'),
        img_suffix='.png', seg_map_suffix='.png', reduce_zero_label=False,
        pipeline=[
            dict(type='LoadImageFromFile'),
            dict(type='LoadAnnotations'),
            dict(type='RandomFlip', prob=0.5),
            dict(type='PackSegInputs'),
        ]))
train_cfg = dict(type='IterBasedTrainLoop', max_iters=MAX_ITERS,
                 val_interval=1000)
optim_wrapper = dict(type='OptimWrapper',
                     optimizer=dict(type='Adam', lr=1e-2),
                     clip_grad=dict(max_norm=1.0))
param_scheduler = [dict(type='LinearLR', start_factor=0.1, by_epoch=False,
                        begin=0, end=8)]
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=1, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=2),
    sampler_seed=dict(type='DistSamplerSeedHook'))
log_processor = dict(by_epoch=False)
# Z of each sample kept on the host and reused for 2 visits: saved in the
# checkpoints by the hook, so the resumed run reuses what the killed run had
custom_hooks = [dict(type='LatentCacheHook', refresh_interval=2)]
env_cfg = dict(cudnn_benchmark=False,
               mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
               dist_cfg=dict(backend='gloo'))
randomness = dict(seed=0, deterministic=False)
log_level = 'INFO'
load_from = None
resume = False
'''


def _train(cfg, work_dir, *args, **popen_kwargs):
    # one thread each: the two first runs share the machine's cores
    env = dict(os.environ, OMP_NUM_THREADS='1', MKL_NUM_THREADS='1',
               PYTHONWARNINGS='ignore:pkg_resources is deprecated')
    return subprocess.Popen(
        [sys.executable, 'tools/train.py', cfg, '--work-dir', work_dir,
         *args],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, **popen_kwargs)


def _last_checkpoint(work_dir):
    try:
        with open(osp.join(work_dir, 'last_checkpoint')) as f:
            return osp.basename(f.read().strip())
    except FileNotFoundError:
        return None


def _load(work_dir):
    import mmpatch  # noqa: F401  (weights-only loading of mmengine files)
    return torch.load(
        osp.join(work_dir, f'iter_{MAX_ITERS}.pth'), map_location='cpu')


def _assert_trees_close(a, b, where):
    if isinstance(a, torch.Tensor):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-5,
                                   msg=lambda m: f'{where}: {m}')
    elif isinstance(a, dict):
        assert set(a) == set(b), where
        for k in a:
            _assert_trees_close(a[k], b[k], f'{where}.{k}')
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            _assert_trees_close(x, y, f'{where}[{i}]')
    elif isinstance(a, float):
        assert abs(a - b) <= 1e-8 * max(1.0, abs(a)), (where, a, b)
    else:
        assert a == b, (where, a, b)


#: 4x4 grid, 4 cells per inner iteration, cells drawn at random; or every
#: cell with the chunked full-gradient backward
PATCH_CFGS = dict(
    sampled=dict(patch_size=32, inner_iters=2, sample_fraction=0.25,
                 sampling='random', fill_chunk=8),
    full=dict(patch_size=32, gradient='full', fill_chunk=8))


@pytest.mark.parametrize('mode', ['sampled', 'full'])
def test_sigkill_then_resume_matches_uninterrupted(tmp_path, mode):
    from mmpatch.datasets import generate_ultradigits
    data = tmp_path / 'data'
    generate_ultradigits(str(data), canvas_size=128, num_train=6, num_val=1,
                         num_test=1, min_digit_size=12, max_digit_frac=0.5)
    cfg = tmp_path / 'tiny_unet_resume.py'
    cfg.write_text(textwrap.dedent(CONFIG).replace(
        'DATA_ROOT', repr(str(data))).replace('MAX_ITERS', str(MAX_ITERS))
        .replace('PATCH_CFG', repr(PATCH_CFGS[mode])))
    full, killed = str(tmp_path / 'full'), str(tmp_path / 'killed')

    uninterrupted = _train(str(cfg), full)
    victim = _train(str(cfg), killed)
    deadline = time.time() + 120
    while True:
        # mmengine writes last_checkpoint after the checkpoint file; it is
        # empty for a moment (open 'w', then write), so wait for a name
        last = _last_checkpoint(killed)
        if last and last != 'iter_2.pth':
            break
        assert victim.poll() is None, victim.communicate()[0][-3000:]
        assert time.time() < deadline, 'no checkpoint after 120 s'
        time.sleep(0.01)
    os.kill(victim.pid, signal.SIGKILL)
    victim_log = victim.communicate()[0]
    assert victim.returncode == -signal.SIGKILL
    # killed mid-run: the last iterations never ran
    assert not osp.exists(osp.join(killed, f'iter_{MAX_ITERS}.pth'))
    assert f'Iter(train) [{MAX_ITERS}/{MAX_ITERS}]' not in victim_log
    resumed_from = _last_checkpoint(killed)

    full_log = uninterrupted.communicate(timeout=300)[0]
    assert uninterrupted.returncode == 0, full_log[-3000:]

    resumed = _train(str(cfg), killed, '--resume')
    resumed_log = resumed.communicate(timeout=300)[0]
    assert resumed.returncode == 0, resumed_log[-3000:]
    start = int(resumed_from[len('iter_'):-len('.pth')])
    assert f'resumed epoch: 0, iter: {start}' in resumed_log
    assert f'Advance dataloader {start} steps' in resumed_log
    assert start % 3, 'resumed at an epoch boundary: not mid-epoch'

    a, b = _load(full), _load(killed)
    assert int(a['state_dict']['patchgd_step']) == MAX_ITERS
    assert int(b['state_dict']['patchgd_step']) == MAX_ITERS
    init = torch.load(osp.join(killed, 'iter_2.pth'), map_location='cpu')
    moved = [k for k, v in a['state_dict'].items()
             if v.dtype.is_floating_point
             and not torch.equal(v, init['state_dict'][k])]
    assert len(moved) > 20
    _assert_trees_close(a['state_dict'], b['state_dict'], 'state_dict')
    _assert_trees_close(a['optimizer'], b['optimizer'], 'optimizer')
    _assert_trees_close(a['param_schedulers'], b['param_schedulers'],
                        'param_schedulers')
    assert a['meta']['seed'] == b['meta']['seed'] == 0
    assert len(a['latent_cache']['entries']) > 0
    _assert_trees_close(a['latent_cache'], b['latent_cache'], 'latent_cache')
    assert a['meta']['iter'] == b['meta']['iter'] == MAX_ITERS
