# Ours with the paper's sampled step (PatchGD + global patch) on whole
# UltraDigits-scales canvases (1024 px): 256 px patches (4x4 grid), 2 inner
# iterations of k = 2 sampled patches with an optimizer step after each,
# latent 8, the head's towers in θ1, the uint8 batch. The second ours row:
# the comparison leads with the full-image gradient
# (fcos_patchgd_full_scales.py, 71.6 MiB, the equal-memory reference), which
# learns more per step on this data. Its own measured peak training memory,
# 66.6 MiB (batch 1, 1024 px), also admits the 512 px baselines (59.2 MiB):
#   python tools/analysis_tools/benchmark_memory.py \
#       configs/det/ultradigits_scales/fcos_patchgd_scales.py \
#       --sizes 1024 --baseline none --batch-size 1 --threads 1 --steps 2
# benchmark_memory's synthetic batch has 5 boxes an image; a training canvas
# has about 15 digits, and FCOS's target assignment grows with points x
# boxes, so training logs a little more (MemoryLoggerHook).
_base_ = ['./_base_/patchgd.py']
