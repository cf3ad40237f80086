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
    # targets assigned a block of points at a time: with ~40 digits a
    # canvas, FCOSHead's assignment alone holds ~60 MiB at 1024 px
    # (mmpatch/models/fcos_heads.py); the same targets
    bbox_head=dict(type='ChunkedTargetFCOSHead'),
    towers_in_patch=True,
    # Z at 32 channels per branch and level, half the head's width: at
    # 1024 px the full-gradient step (this file's concatenated global patch
    # and towers on every level) peaks at 80.8 MiB against 70.1 at 8
    # and 93.6 at 64, and the equal-memory baselines keep their 512 px
    # sides (640 px would take 85.7); the ablations of
    # configs/det/ultradigits_scales/ablations/ measure 8 and 64
    latent_channels=32,
    global_fusion='concat')
