# Ablation of ours (full gradient, ../fcos_patchgd_full_scales.py): the
# global patch concatenated to Z (global_fusion='concat', the earlier
# default), against the gated residual Z + tanh(a) G. On seed 0 of the
# earlier recipe the run without the global patch beat concatenation on the
# tiny and medium digits (det_comparison.py --methods concat).
_base_ = ['../fcos_patchgd_full_scales.py']
model = dict(global_fusion='concat')
