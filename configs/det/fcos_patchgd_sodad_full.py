# gradient='full' variant of configs/det/fcos_patchgd_sodad.py (FCOS-R50,
# whole 4096x4096 SODA-D images, 512 px patches): one inner iteration over
# all 64 cells, θ2's backward gives dL/dZ and the cells are re-encoded 2
# patches at a time, the fill's chunk (docs/method.md); with_cp now applies
# to the global patch. Memory and step time against the sampled step and
# full-image FCOS-R50: docs/benchmarks.md, from
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
        with_cp=True))
