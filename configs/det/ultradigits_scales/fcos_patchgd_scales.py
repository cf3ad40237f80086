# Ours: PatchGD + global patch (sampled gradient) on whole UltraDigits-scales
# canvases (2048 px): 256 px patches (8x8 grid), 2 inner iterations of k = 2
# sampled patches with an optimizer step after each, latent 8, the head's
# towers in θ1, the uint8 batch. The reference of the equal-memory
# baselines: measured peak training memory 130.3 MiB (batch 1, 2048 px):
#   python tools/analysis_tools/benchmark_memory.py \
#       configs/det/ultradigits_scales/fcos_patchgd_scales.py \
#       --sizes 2048 --baseline none --batch-size 1 --threads 1 --steps 2
# (run by python tools/analysis_tools/equal_memory.py
#  configs/det/ultradigits_scales/fcos_patchgd_scales.py
#  --stock configs/det/ultradigits_scales/fcos_full_scales.py --canvas 2048)
# benchmark_memory's synthetic batch has 5 boxes an image; a training canvas
# has about 16 digits, and FCOS's target assignment grows with points x
# boxes, so training on UltraDigits-scales logs up to ~160 MiB for ours
# (MemoryLoggerHook) against ~120 MiB for the 768 px baselines, whose
# images hold fewer points (and a crop fewer boxes).
_base_ = ['./_base_/patchgd.py']
