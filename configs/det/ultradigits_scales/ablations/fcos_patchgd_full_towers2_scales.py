# Ablation of ours (full gradient, ../fcos_patchgd_full_scales.py): the
# head's towers per patch on the two finest levels only (P3, P4); P5-P7
# keep the neck's map in Z and run the whole head on the stitched
# whole-image maps (towers_in_patch=2, mmpatch/models/detector.py), where
# a 256 px patch's P6/P7 maps (4x4, 2x2) are mostly border and the huge
# digits span several patches (det_comparison.py --methods towers2).
_base_ = ['../fcos_patchgd_full_scales.py']
model = dict(towers_in_patch=2)
