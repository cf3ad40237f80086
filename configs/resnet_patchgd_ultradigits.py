# PatchGlobalClassifier on UltraDigits canvas labels (the sum of the digits,
# 10 classes), sized for a 2-core CPU:
#   python tools/train.py configs/resnet_patchgd_ultradigits.py
# The 1024 px canvases resized to 512 px (the smallest digits stay >= 8 px,
# the resolution of the sklearn digits they are drawn from), 128 px patches
# (4x4 grid), 4 inner iterations of 4 patches (25 %), global patch at 128 px.
# θ1 = a narrow ResNet-18 (the ResNet-50 base at depth 18, 16 stem/base
# channels, 128 output channels) + a 1x1 projection to 64; θ2 = a 64-channel
# grid CNN + LinearClsHead.
# One training step (batch 4) takes about 0.85 s on one busy CPU thread, so
# the 300 iterations of cpu_short.py (about 19 epochs of the 64 default
# training canvases) take about 5 minutes.
_base_ = [
    './_base_/models/resnet50_patchgd.py',
    './_base_/datasets/ultradigits_cls.py',
    'mmpretrain::_base_/default_runtime.py',
    './_base_/schedules/cpu_short.py',
]
model = dict(
    backbone=dict(depth=18, stem_channels=16, base_channels=16),
    head=dict(num_classes=10, in_channels=64),
    patch_cfg=dict(patch_size=128, inner_iters=4, sample_fraction=0.25,
                   fill_chunk=16),
    latent_dim=64,
    global_fusion='add',
    grid_head=dict(channels=64, num_blocks=3, dropout=0.1))
custom_hooks = [dict(type='LatentBufferHook')]
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=10, log_metric_by_epoch=False),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=300,
                    max_keep_ckpts=1))
log_processor = dict(by_epoch=False)
randomness = dict(seed=0)
