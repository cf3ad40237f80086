# PatchGlobalSegmentor (U-Net) on DRIVE retinal vessels, as in the paper:
# images resized to 512x512, 128 px patches (4x4 grid), Dice + CE.
#   python tools/train.py configs/seg/unet_patchgd_drive.py
# Data: mmseg's own layout, see docs/datasets.md (tools/dataset_converters/
# drive.py of mmseg prepares it).
_base_ = [
    '../_base_/models/unet_patchgd.py',
    '../_base_/datasets/drive_512.py',
    'mmseg::_base_/default_runtime.py',
    '../_base_/patchgd_runtime.py',
    'mmseg::_base_/schedules/schedule_40k.py',
]
model = dict(
    data_preprocessor=dict(size={{_base_.img_scale}}),
    patch_cfg=dict(patch_size=128, inner_iters=4, sample_fraction=0.25))
