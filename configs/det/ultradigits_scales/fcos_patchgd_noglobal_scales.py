# Ablation: fcos_patchgd_full_scales.py (ours, full-image gradient) without
# the global patch (global_fusion=None: plain PatchGD over Z). What the
# global patch contributes to the huge digits, which span 2x2 to 3x3
# patches of 256 px and no 512 px crop holds. Peak measured by
#   python tools/analysis_tools/benchmark_memory.py \
#       configs/det/ultradigits_scales/fcos_patchgd_noglobal_scales.py \
#       --sizes 1024 --baseline none --batch-size 1 --threads 1 --steps 2
# 77.9 MiB (ours: 78.6 MiB).
_base_ = ['./fcos_patchgd_full_scales.py']
model = dict(global_fusion=None)
