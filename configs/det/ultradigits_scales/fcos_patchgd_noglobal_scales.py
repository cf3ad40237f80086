# Ablation: fcos_patchgd_scales.py without the global patch
# (global_fusion=None: plain PatchGD over Z). What the global patch
# contributes to the huge digits, which span up to 4x4 patches of 256 px.
# Peak (one step less the global patch's θ1 pass) measured by
#   python tools/analysis_tools/benchmark_memory.py \
#       configs/det/ultradigits_scales/fcos_patchgd_noglobal_scales.py \
#       --sizes 2048 --baseline none --batch-size 1 --threads 1 --steps 2
# 111.3 MiB (ours: 130.3 MiB).
_base_ = ['./_base_/patchgd.py']
model = dict(global_fusion=None)
