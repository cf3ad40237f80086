# Ours with the full-image gradient (patch_cfg.gradient='full'): one inner
# iteration over every cell; θ2's backward gives dL/dZ and the 64 cells are
# re-encoded backward_chunk = 2 at a time and back-propagated with their
# slice of it (the exact gradient of the whole canvas). BatchNorm in train
# mode (the mode's default), which needs the fill chunk equal to the
# backward chunk (both passes normalise the same groups of patches).
# Otherwise fcos_patchgd_scales.py. Its own peak is measured by
#   python tools/analysis_tools/benchmark_memory.py \
#       configs/det/ultradigits_scales/fcos_patchgd_full_scales.py \
#       --sizes 2048 --baseline none --batch-size 1 --threads 1 --steps 2
# 108.5 MiB (below the sampled step's 130.3 MiB: dL/dZ replaces the
# sampled patches' activations); the baselines are sized against the
# sampled step (768 px, 118.1 MiB; against this one it would be 640 px).
_base_ = ['./_base_/patchgd.py']
model = dict(
    patch_cfg=dict(_delete_=True, gradient='full', patch_size=256,
                   backward_chunk=2, fill_chunk=2))
