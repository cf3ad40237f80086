# PatchGD side of the UltraDigits-scales comparison: the same narrow FCOS
# and pretrained backbone as the stock baselines (./fcos.py), as a
# PatchGlobalDetector with the head's towers in θ1 (as
# configs/fcos_patchgd_ultradigits.py), the uint8 batch, and the PatchGD
# runtime (configs/_base_/patchgd_runtime.py).
_base_ = ['./fcos.py', '../../../_base_/patchgd_runtime.py']
custom_imports = dict(
    imports=['mmpatch', 'mmpatch.models.detector',
             'mmpatch.datasets.lazy_image',
             'mmpatch.evaluation.size_buckets'],
    allow_failed_imports=False)
model = dict(
    type='PatchGlobalDetector',
    data_preprocessor=dict(type='PatchDetDataPreprocessor'),
    patch_cfg=dict(patch_size=256, inner_iters=2, patches_per_iter=2,
                   accumulate=1, fill_chunk=8),
    towers_in_patch=True,
    latent_channels=8,
    global_fusion='concat')
# patchgd_runtime's hooks plus the clock of the time-to-accuracy curve; the
# peak memory measured on one iteration in 10 (as ./stock.py)
custom_hooks = [
    dict(type='MemoryLoggerHook', interval=10),
    dict(type='MemoryBudgetHook'),
    dict(type='LazyImageCheckHook'),
    dict(type='TrainClockHook')
]
