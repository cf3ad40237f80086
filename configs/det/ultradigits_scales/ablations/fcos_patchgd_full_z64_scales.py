# Ablation of ours (full gradient, ../fcos_patchgd_full_scales.py): Z at the
# head's width (64, no 1x1 reduction), against 32. More memory than the
# equal-memory baselines' sides allow (its peak is in the row), so it is an
# ablation, not the reference (det_comparison.py --methods z64).
_base_ = ['../fcos_patchgd_full_scales.py']
model = dict(latent_channels=None)
