# The runtime of the UltraDigits-scales comparison
# (configs/det/ultradigits_scales/): mmdet's default runtime with a
# checkpoint every epoch, each scored offline by the time-to-accuracy curve
# (tools/analysis_tools/det_comparison.py), and a log line every 10
# iterations. Runtime keys only; each method's config names its hooks.
_base_ = 'mmdet::_base_/default_runtime.py'
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=10, log_metric_by_epoch=False),
    checkpoint=dict(type='CheckpointHook', by_epoch=True, interval=1,
                    max_keep_ckpts=-1))
log_processor = dict(by_epoch=True)
