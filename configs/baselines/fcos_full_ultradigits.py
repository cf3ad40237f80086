# Baseline "full": stock mmdet FCOS (same narrow network) on the whole 1024 px
# canvas. Its memory grows with the image (docs/benchmarks.md).
_base_ = [
    '../_base_/models/fcos_mini.py',
    '../_base_/datasets/ultradigits_det.py',
    '../_base_/schedules/cpu_short.py',
]
custom_hooks = [dict(type='LatentBufferHook')]
default_hooks = dict(visualization=dict(type='DetVisualizationHook'))
