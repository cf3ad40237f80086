# Baseline "full" for DRIVE: stock mmseg U-Net on the whole 512x512 image.
_base_ = [
    '../../_base_/models/unet_plain.py',
    '../../_base_/datasets/drive_512.py',
    'mmseg::_base_/default_runtime.py',
    'mmseg::_base_/schedules/schedule_40k.py',
]
model = dict(data_preprocessor=dict(size={{_base_.img_scale}}))
