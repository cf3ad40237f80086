# PatchGlobalClassifier on UltraDigits-cls (4 classes: a large 6 or 9 and a
# lattice of small digits that are all 0 or all 8), sized for a 2-core CPU:
#   python tools/make_ultradigits_cls.py       # data/ultradigits_cls
#   python tools/pretrain_digits.py   # checkpoints/resnet18n_digits.pth
#   python tools/train.py configs/cls/resnet_patchgd_ultradigits.py
# (`make data-cls pretrained` does the first two.)
# The 1024 px canvases at full resolution: 128 px patches (8x8 grid), 4
# inner iterations of k = 1 patch, global patch at 128 px, the uint8 batch
# (PatchClsDataPreprocessor normalises patch by patch).
# θ1 = a narrow ResNet-18 (the ResNet-50 base at depth 18, 16 stem/base
# channels, 128 output channels), started from the digit-crop weights of
# tools/pretrain_digits.py (the paper starts from ImageNet weights; nothing
# can be downloaded here), + a 1x1 projection to 64; θ2 = the mean of the
# fused grid (GridHead without conv blocks) + LinearClsHead: with its three
# conv blocks θ2 did not leave chance within these short CPU runs.
# Peak memory of a training step at batch 4: 52.0 MiB
#   python tools/analysis_tools/benchmark_memory.py \
#       configs/cls/resnet_patchgd_ultradigits.py --sizes 1024 --batch-size 4
# The stock classifier fits that memory at 296 px (50.7 MiB):
# configs/cls/baselines/resnet_downsampled_ultradigits.py.
# One iteration takes about 1.3 s on one CPU thread, so the 300 iterations
# of cpu_short.py (about 5 epochs of the 256 training canvases) take about
# 7 minutes.
_base_ = [
    '../_base_/models/resnet50_patchgd.py',
    '../_base_/datasets/ultradigits_cls.py',
    'mmpretrain::_base_/default_runtime.py',
    '../_base_/patchgd_runtime.py',
    '../_base_/schedules/cpu_short.py',
]
pretrained = 'checkpoints/resnet18n_digits.pth'
data_preprocessor = dict(type='PatchClsDataPreprocessor')
model = dict(
    backbone=dict(
        depth=18,
        stem_channels=16,
        base_channels=16,
        init_cfg=dict(
            type='Pretrained', checkpoint=pretrained, prefix='backbone')),
    head=dict(num_classes=4, in_channels=64),
    patch_cfg=dict(patch_size=128, inner_iters=4, patches_per_iter=1,
                   fill_chunk=16),
    latent_channels=64,
    global_fusion='add',
    grid_head=dict(num_blocks=0))
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=10, log_metric_by_epoch=False),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=300,
                    max_keep_ckpts=1))
log_processor = dict(by_epoch=False)
randomness = dict(seed=0)
