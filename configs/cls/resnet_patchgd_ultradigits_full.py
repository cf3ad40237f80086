# gradient='full' variant of configs/cls/resnet_patchgd_ultradigits.py: one
# inner iteration over all 64 cells of each canvas, θ2's backward gives
# dL/dZ and the cells are re-encoded 8 patches at a time
# (docs/method.md). The chunk is the largest whose measured peak does not
# pass the sampled config's (52.0 MiB at batch 4): 51.3 MiB, from
#   python tools/analysis_tools/benchmark_memory.py \
#       configs/cls/resnet_patchgd_ultradigits_full.py --sizes 1024 \
#       --batch-size 4
# θ1's BatchNorm in eval mode in both passes and the global patch
# (full_bn_mode='eval', as the sampled config's fill_bn_mode; `_delete_`
# drops the base's keys, so it is set again). θ1 is pretrained, and the mode's
# default, 'train', normalises each chunk of 8 mostly blank 128 px patches
# by its own statistics: with it this config reached 45.7 ± 1.4 % top-1
# against 99.0 ± 1.2 % in eval mode (3 seeds, 2 epochs,
# `python tools/analysis_tools/run_benchmarks.py --only cls`, 2026-12-05).
_base_ = ['./resnet_patchgd_ultradigits.py']
model = dict(
    patch_cfg=dict(
        _delete_=True, patch_size=128, gradient='full', fill_chunk=8,
        full_bn_mode='eval'))
