# Ablation of ours (full gradient, ../fcos_patchgd_full_scales.py): the
# head's towers per patch on every level (towers_in_patch=True, the earlier
# default), against P3-P4 only. A 256 px patch's P6/P7 maps are 4x4 and 2x2,
# mostly border, and the huge digits span several patches: on seed 0 of the
# earlier recipe this row scored huge 0.361 against 0.608
# (det_comparison.py --methods towers_all).
_base_ = ['../fcos_patchgd_full_scales.py']
model = dict(towers_in_patch=True)
