# Ours with the paper's sampled step (PatchGD + global patch) on whole
# UltraDigits-scales canvases (1024 px): 256 px patches (4x4 grid), 2 inner
# iterations of k = 2 sampled patches with an optimizer step after each,
# Z at 32 channels, the global patch as a gated residual Z + tanh(a) G
# (global_fusion='gated'), the head's towers per patch on P3-P4 and the
# whole head on the stitched P5-P7 maps (towers_in_patch=2), the uint8
# batch. Both choices are ablations of the full-gradient row
# (configs/det/ultradigits_scales/ablations/: concat, towers_all). The second
# ours row: the comparison leads with the full-image gradient
# (fcos_patchgd_full_scales.py, 78.6 MiB, the equal-memory reference). Its
# own measured peak training memory, 85.3 MiB (batch 1, 1024 px; fill
# chunks of 8):
#   python tools/analysis_tools/benchmark_memory.py \
#       configs/det/ultradigits_scales/fcos_patchgd_scales.py \
#       --sizes 1024 --baseline none --batch-size 1 --threads 1 --steps 2
# benchmark_memory's synthetic batch has 5 boxes an image; a training canvas
# has about 38 digits, whose targets ChunkedTargetFCOSHead assigns a block
# of points at a time (mmpatch/models/fcos_heads.py).
# The PatchGD side, which fcos_patchgd_full_scales.py inherits: the same
# data, schedule and checkpoints as the stock side (fcos_full_scales.py),
# the PatchGD model and runtime; the hooks are patchgd_runtime's plus the
# clock, with the memory meter on one iteration in 10 as the stock side's.
_base_ = [
    '../../_base_/models/fcos_patchgd_mini_digits.py',
    '../../_base_/datasets/ultradigits_scales_det.py',
    '../../_base_/scales_runtime.py',
    '../../_base_/patchgd_runtime.py',
    '../../_base_/schedules/adam_6e.py',
]
custom_imports = dict(
    imports=['mmpatch', 'mmpatch.models.detector',
             'mmpatch.datasets.lazy_image',
             'mmpatch.evaluation.size_buckets'],
    allow_failed_imports=False)
custom_hooks = [
    dict(type='MemoryLoggerHook', interval=10),
    dict(type='MemoryBudgetHook'),
    dict(type='LazyImageCheckHook'),
    dict(type='TrainClockHook')
]
model = dict(global_fusion='gated', towers_in_patch=2)
