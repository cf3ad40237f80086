# PatchGD side of the UltraDigits-scales comparison: the same narrow FCOS
# and pretrained backbone as the stock baselines (./fcos_mini_digits.py), as
# a PatchGlobalDetector with the head's towers in θ1 (as
# configs/det/fcos_patchgd_ultradigits.py), the uint8 batch, 256 px patches
# and the paper's sampled step. Model only.
_base_ = './fcos_mini_digits.py'
model = dict(
    type='PatchGlobalDetector',
    data_preprocessor=dict(type='PatchDetDataPreprocessor'),
    patch_cfg=dict(patch_size=256, inner_iters=2, patches_per_iter=2,
                   accumulate=1, fill_chunk=8),
    towers_in_patch=True,
    latent_channels=8,
    global_fusion='concat')
