# configs/cls/resnet50_patchgd_panda.py at 2048 px with 256 px patches: 8x8
# grid, 4 inner iterations of 16 patches, batch 4 (64 patches of 256^2 per
# inner iteration)
#   python tools/dataset_converters/panda.py ROOT data/panda_2048 --size 2048
# The data, batch and inner iterations of
# ./resnet50_patchgd_panda_2048_p128.py; only the patch size differs.
_base_ = ['./resnet50_patchgd_panda_2048_p128.py']
model = dict(patch_cfg=dict(patch_size=256))
