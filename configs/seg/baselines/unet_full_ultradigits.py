# Baseline "full": stock mmseg U-Net on the whole UltraDigits canvas (512 px).
# Same narrow U-Net as configs/seg/unet_patchgd_ultradigits.py; its memory
# grows with the image (see docs/benchmarks.md).
_base_ = [
    '../../_base_/models/unet_plain.py',
    '../../_base_/datasets/ultradigits_seg.py',
    'mmseg::_base_/default_runtime.py',
    '../../_base_/schedules/cpu_short.py',
]
model = dict(
    data_preprocessor=dict(size=None, size_divisor=16),
    backbone=dict(base_channels=16),
    decode_head=dict(in_channels=16, channels=16))
custom_imports = dict(imports=['mmpatch'], allow_failed_imports=False)
custom_hooks = [dict(type='MemoryLoggerHook')]
default_hooks = dict(
    visualization=dict(type='SegVisualizationHook'),
    logger=dict(type='LoggerHook', interval=10, log_metric_by_epoch=False),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=300,
                    max_keep_ckpts=1))
log_processor = dict(by_epoch=False)
randomness = dict(seed=0)
