# Ours, the row the comparison leads with: PatchGD + global patch with the
# full-image gradient (patch_cfg.gradient='full') on whole UltraDigits-scales
# canvases (1024 px): 256 px patches (4x4 grid), one inner iteration over
# every cell; θ2's backward gives dL/dZ and the 16 cells are re-encoded
# backward_chunk = 4 at a time and back-propagated with their slice of it
# (the exact gradient of the whole canvas). BatchNorm in train mode
# (full_bn_mode='train'), which needs the fill chunk equal to the backward
# chunk (both passes normalise the same groups of patches). Latent 8, the
# head's towers in θ1, the uint8 batch (./fcos_patchgd_scales.py).
# The reference of the equal-memory baselines: measured peak training
# memory 71.6 MiB (batch 1, 1024 px):
#   python tools/analysis_tools/benchmark_memory.py \
#       configs/det/ultradigits_scales/fcos_patchgd_full_scales.py \
#       --sizes 1024 --baseline none --batch-size 1 --threads 1 --steps 2
# (run by python tools/analysis_tools/equal_memory.py
#  configs/det/ultradigits_scales/fcos_patchgd_full_scales.py
#  --stock configs/det/ultradigits_scales/fcos_full_scales.py --canvas 1024)
# Chunk 2 peaks at 48.3 MiB but steps 1.6x slower; chunk 8 at 118.0 MiB.
# Why full rather than sampled: in probes of 384 steps (4 epochs of 96
# canvases, lr 1e-3) the full step reached test AP 0.020 (tiny 0.007, huge
# 0.23) against the sampled step's 0.008 (0.002, 0.12), at ~1.4x its time
# per step. Training logs ~72 MiB (MemoryLoggerHook) on real canvases.
_base_ = ['./fcos_patchgd_scales.py']
model = dict(
    patch_cfg=dict(_delete_=True, gradient='full', patch_size=256,
                   backward_chunk=4, fill_chunk=4, full_bn_mode='train'))
