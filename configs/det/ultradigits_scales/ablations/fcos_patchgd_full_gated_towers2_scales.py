# Ours (full gradient, ../fcos_patchgd_full_scales.py) with both changes
# the seed-0 runs pointed to: the global patch as a gated residual
# (global_fusion='gated': concatenation cost the tiny and medium digits,
# the run without the global patch scored higher there) and the head's
# towers per patch on P3-P4 only (towers_in_patch=2: the whole head on the
# stitched P5-P7 maps, for the huge digits). det_comparison.py --methods
# gated_towers2.
_base_ = ['../fcos_patchgd_full_scales.py']
model = dict(global_fusion='gated', towers_in_patch=2)
