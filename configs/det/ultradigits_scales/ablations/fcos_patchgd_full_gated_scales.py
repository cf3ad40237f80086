# Ablation of ours (full gradient, ../fcos_patchgd_full_scales.py): the
# global patch fused as a gated residual, Z + tanh(a) G with a zero at the
# start (global_fusion='gated', mmpatch/patchgd/fusion.py), against
# concatenation (det_comparison.py --methods gated).
_base_ = ['../fcos_patchgd_full_scales.py']
model = dict(global_fusion='gated')
