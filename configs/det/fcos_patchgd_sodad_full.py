# gradient='full' variant of configs/det/fcos_patchgd_sodad.py (FCOS-R50,
# whole 4096x4096 SODA-D images, 512 px patches): one inner iteration over
# all 64 cells, θ2's backward gives dL/dZ and the cells are re-encoded one
# patch at a time (docs/method.md): one 512 px patch's activations with
# gradients, as the sampled config's k = 1 step holds (a chunk of 2 measured
# 844 MiB at 2048²); the fill keeps chunks of 2 (θ1's BatchNorm is frozen,
# norm_eval and full_bn_mode='eval', so the two passes may chunk
# differently);
# with_cp now applies to the global patch. Memory and step time against
# the sampled step and full-image FCOS-R50: docs/benchmarks.md, from
#   python tools/analysis_tools/benchmark_memory.py \
#       configs/det/fcos_patchgd_sodad_full.py --sizes 2048 4096
#   python tools/train.py configs/det/fcos_patchgd_sodad_full.py
_base_ = ['./fcos_patchgd_sodad.py']
model = dict(
    patch_cfg=dict(
        _delete_=True,
        patch_size=512,
        gradient='full',
        fill_chunk=2,
        backward_chunk=1,
        with_cp=True,
        full_bn_mode='eval'))
