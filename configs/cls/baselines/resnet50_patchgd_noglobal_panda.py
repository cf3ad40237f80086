# Baseline "PatchGD without the global patch" for PANDA:
# configs/cls/resnet50_patchgd_panda.py with global_fusion=None (plain
# PatchGD).
_base_ = ['../resnet50_patchgd_panda.py']
model = dict(global_fusion=None)
