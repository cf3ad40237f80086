# PatchGlobalClassifier (ResNet-50) on PANDA ISUP grades, the paper's main
# classification setting: 2048 px slides, 128 px patches (16x16 grid),
# 4 inner iterations of 25 % of the cells (64 patches of each image, every
# cell once per step with disjoint sampling), global patch at 128 px, added
# to every cell; latent dimension 256; Adam at 1e-3 for 100 epochs with 2
# warm-up epochs (the PatchGD paper's PANDA recipe).
#   python tools/dataset_converters/panda.py ROOT data/panda_2048 --size 2048
#   python tools/train.py configs/cls/resnet50_patchgd_panda.py [--amp]
# Activation memory: batch 4 x 64 patches of 128^2 with gradients per inner
# iteration; the variants keep about this many patch pixels per iteration.
# Other sizes: configs/cls/resnet50_patchgd_panda_{512_p128,2048_p128,
# 2048_p256,4096_p128,4096_p256}.py. To pick k from a memory budget
# instead, set model.patch_cfg.patches_per_iter='auto' and
# memory_budget='16G'.
# ImageNet weights (recommended, as in the paper): see the comment in
# configs/_base_/models/resnet50_patchgd.py.
_base_ = [
    '../_base_/models/resnet50_patchgd.py',
    '../_base_/datasets/panda.py',
    'mmpretrain::_base_/default_runtime.py',
    '../_base_/patchgd_runtime.py',
    '../_base_/schedules/adam_100e.py',
]
custom_imports = dict(
    imports=['mmpatch.models.classifier', 'mmpatch.evaluation.kappa'],
    allow_failed_imports=False)
model = dict(
    head=dict(num_classes=6, in_channels=256),
    patch_cfg=dict(patch_size=128, inner_iters=4, sample_fraction=0.25),
    latent_channels=256,
    global_fusion='add')
# the batch stays uint8 and each patch is normalised when θ1 reads it
# (a 4096² slide: 48 MiB held instead of 48 + 192; docs/memory.md); merged
# with the dataset base's statistics, as mmpretrain merges it into the model
data_preprocessor = dict(type='PatchClsDataPreprocessor')

# schedule: ../_base_/schedules/adam_100e.py (Adam 1e-3, 100 epochs); the
# checkpoint keeps the best epoch by this config's metric
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=50),
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=2,
                    save_best='kappa/quadratic', rule='greater'))
randomness = dict(seed=42)
