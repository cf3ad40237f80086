# Ablation of ours (full gradient, ../fcos_patchgd_full_scales.py): θ1's
# pretrained BatchNorm trained on the 4-patch chunks (full_bn_mode='train',
# the fill chunk equal to the backward chunk), against frozen statistics
# ('eval') (det_comparison.py --methods bn_train).
_base_ = ['../fcos_patchgd_full_scales.py']
model = dict(patch_cfg=dict(full_bn_mode='train'))
