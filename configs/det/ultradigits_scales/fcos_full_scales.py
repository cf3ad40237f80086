# Stock FCOS on the whole canvas at full resolution: the unbounded reference
# (its memory grows with the canvas: 203.5 MiB at 1024 px, 2.6x ours'
# 78.6 MiB; it fits here because a CPU has GiBs):
#   python tools/analysis_tools/benchmark_memory.py \
#       configs/det/ultradigits_scales/fcos_full_scales.py \
#       --sizes 1024 --baseline none --batch-size 1 --threads 1 --steps 2
# The stock side of the comparison, which the two baselines inherit: the
# narrow FCOS with the pretrained digit backbone, whole canvases at their
# stored size, batch 1, 6 epochs. Its hooks: the memory meter on one
# iteration in 10 (and the first two; on a CPU the meter slows the steps
# it measures, and training times compare) and the clock of the
# time-to-accuracy curve.
_base_ = [
    '../../_base_/models/fcos_mini_digits.py',
    '../../_base_/datasets/ultradigits_scales_det.py',
    '../../_base_/scales_runtime.py',
    '../../_base_/schedules/adam_6e.py',
]
custom_hooks = [
    dict(type='MemoryLoggerHook', interval=10),
    dict(type='TrainClockHook')
]
