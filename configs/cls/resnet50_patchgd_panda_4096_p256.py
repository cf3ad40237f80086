# configs/cls/resnet50_patchgd_panda.py at 4096 px with 256 px patches: 16x16
# grid, 8 inner iterations of 32 patches, batch 2 (64 patches of 256^2 per
# inner iteration)
#   python tools/dataset_converters/panda.py ROOT data/panda_4096 --size 4096
# The data, batch and inner iterations of
# ./resnet50_patchgd_panda_4096_p128.py; only the patch size differs.
_base_ = ['./resnet50_patchgd_panda_4096_p128.py']
model = dict(patch_cfg=dict(patch_size=256))
