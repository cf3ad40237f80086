# gradient='full' variant of configs/seg/unet_patchgd_ultradigits.py: one
# inner iteration over all 16 cells of each canvas, θ2's backward gives
# dL/dZ and the cells are re-encoded 11 patches at a time (docs/method.md);
# θ1 trains from scratch, so its BatchNorm uses each chunk's statistics in
# both passes (full_bn_mode='train'). The chunk is the largest whose
# measured peak does not pass the sampled config's (443.2 MiB at batch 2):
# 439.6 MiB, from
#   python tools/analysis_tools/benchmark_memory.py \
#       configs/seg/unet_patchgd_ultradigits_full.py --sizes 512 \
#       --batch-size 2
_base_ = ['./unet_patchgd_ultradigits.py']
model = dict(
    patch_cfg=dict(
        _delete_=True, patch_size=128, gradient='full', fill_chunk=11,
        full_bn_mode='train'))
