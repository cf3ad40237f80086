# Baseline "PatchGD without the global patch":
# configs/cls/resnet_patchgd_ultradigits.py with global_fusion=None, i.e. plain
# PatchGD (θ2 sees only the grid Z). Same memory or less (no global patch).
_base_ = ['../resnet_patchgd_ultradigits.py']
model = dict(global_fusion=None)
