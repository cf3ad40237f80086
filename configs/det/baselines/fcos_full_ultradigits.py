# Baseline "full": stock mmdet FCOS (the same narrow network as
# configs/det/fcos_patchgd_ultradigits.py) on the whole 1024 px canvas. Its
# memory grows with the image (docs/benchmarks.md).
_base_ = [
    '../../_base_/models/fcos_mini.py',
    '../../_base_/datasets/ultradigits_det.py',
    'mmdet::_base_/default_runtime.py',
    '../../_base_/schedules/cpu_short.py',
]
custom_imports = dict(imports=['mmpatch'], allow_failed_imports=False)
custom_hooks = [dict(type='MemoryLoggerHook')]
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=10, log_metric_by_epoch=False),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=300,
                    max_keep_ckpts=1))
log_processor = dict(by_epoch=False)
randomness = dict(seed=0)
