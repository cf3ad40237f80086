# gradient='full' variant of configs/cls/resnet_patchgd_ultradigits.py: one
# inner iteration over all 64 cells of each canvas, θ2's backward gives
# dL/dZ and the cells are re-encoded 8 patches at a time
# (docs/method.md). The chunk is the largest whose measured peak does not
# pass the sampled config's (52.0 MiB at batch 4): 51.3 MiB, from
#   python tools/analysis_tools/benchmark_memory.py \
#       configs/cls/resnet_patchgd_ultradigits_full.py --sizes 1024 \
#       --batch-size 4
_base_ = ['./resnet_patchgd_ultradigits.py']
model = dict(
    patch_cfg=dict(
        _delete_=True, patch_size=128, gradient='full', fill_chunk=8))
