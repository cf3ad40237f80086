# Ablation of ours (full gradient, ../fcos_patchgd_full_scales.py): Z at 8
# channels per branch and level (the earlier default), against 32. Its
# measured peak and AP are the ablation table's row `z8` of
# docs/benchmarks.md (tools/analysis_tools/det_comparison.py --methods z8).
_base_ = ['../fcos_patchgd_full_scales.py']
model = dict(latent_channels=8)
