# Ours, the row the comparison leads with: PatchGD + global patch with the
# full-image gradient (patch_cfg.gradient='full') on whole UltraDigits-scales
# canvases (1024 px): 256 px patches (4x4 grid), one inner iteration over
# every cell; θ2's backward gives dL/dZ and the 16 cells are re-encoded
# backward_chunk = 4 at a time and back-propagated with their slice of it
# (the exact gradient of the whole canvas). Its choices, each against an
# ablation of configs/det/ultradigits_scales/ablations/ (docs/benchmarks.md):
#   * Z at 32 channels per branch and level (latent_channels; ablations at
#     8 and at the head's 64),
#   * θ1's pretrained BatchNorm frozen (full_bn_mode='eval'; ablation:
#     'train' on the 4-patch chunks),
#   * the global patch as a gated residual Z + tanh(a) G
#     (global_fusion='gated'; ablation: 'concat'),
#   * the head's towers per patch on P3-P4, the whole head on the stitched
#     P5-P7 maps (towers_in_patch=2; ablation: towers on every level),
#   * and the uint8 batch (./fcos_patchgd_scales.py, which sets the two
#     above for both ours rows).
# On seed 0 of the earlier recipe (20-step warm-up), gated + P3-P4 scored AP
# 0.455 against 0.407 for concat + every level, 0.458 gated alone (huge
# 0.361) and 0.428 P3-P4 alone; the table's ablation rows are this
# recipe's.
# The reference of the equal-memory baselines: measured peak training
# memory 78.6 MiB (batch 1, 1024 px), against 203.5 MiB for full-image FCOS
# (0.39x; at 2048 px 172.2 against 777.6 MiB, 0.22x):
#   python tools/analysis_tools/benchmark_memory.py \
#       configs/det/ultradigits_scales/fcos_patchgd_full_scales.py \
#       --baseline-config configs/det/ultradigits_scales/fcos_full_scales.py \
#       --sizes 1024 2048 --batch-size 1 --threads 1 --steps 2
_base_ = ['./fcos_patchgd_scales.py']
model = dict(
    patch_cfg=dict(_delete_=True, gradient='full', patch_size=256,
                   backward_chunk=4, fill_chunk=4, full_bn_mode='eval'))
