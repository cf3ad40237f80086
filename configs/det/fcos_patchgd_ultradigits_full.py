# gradient='full' variant of configs/det/fcos_patchgd_ultradigits.py: one
# inner iteration over all 16 cells of each canvas (the towers per patch in
# θ1 as there), θ2's backward gives dL/dZ and the cells are re-encoded 12
# patches at a time (docs/method.md); θ1 trains from scratch, so its
# BatchNorm takes each chunk's statistics in both passes
# (full_bn_mode='train').
# The chunk is the largest whose measured peak does not pass the sampled
# config's (223.0 MiB at batch 2):
# 216.2 MiB, from
#   python tools/analysis_tools/benchmark_memory.py \
#       configs/det/fcos_patchgd_ultradigits_full.py --sizes 1024 \
#       --batch-size 2
_base_ = ['./fcos_patchgd_ultradigits.py']
model = dict(
    patch_cfg=dict(
        _delete_=True, patch_size=256, gradient='full', fill_chunk=12,
        full_bn_mode='train'))
