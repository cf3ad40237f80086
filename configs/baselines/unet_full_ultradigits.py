# Baseline "full": stock mmseg U-Net on the whole 1024 px UltraDigits canvas.
# Same narrow U-Net as configs/unet_patchgd_ultradigits.py; its memory grows
# with the image (see docs/benchmarks.md).
_base_ = [
    '../_base_/models/unet_plain.py',
    '../_base_/datasets/ultradigits_seg.py',
    'mmseg::_base_/default_runtime.py',
    '../_base_/schedules/cpu_short.py',
]
model = dict(
    data_preprocessor=dict(size=None, size_divisor=16),
    backbone=dict(base_channels=16),
    decode_head=dict(in_channels=16, channels=16))
