# Baseline "full": stock mmdet FCOS-R50 (caffe, GN head; the network of
# configs/det/fcos_patchgd_sodad.py as mmdet ships it) on whole 4096x4096
# images of SODA-D. Its training memory grows with the image: see
# docs/benchmarks.md for the measured peaks (it needs a large accelerator).
#   python tools/train.py configs/det/baselines/fcos_full_sodad.py
_base_ = [
    '../../_base_/models/fcos_r50.py',
    '../../_base_/datasets/sodad.py',
    '../../_base_/schedules/fcos_1x.py',
    'mmdet::_base_/default_runtime.py',
]
model = dict(bbox_head=dict(num_classes=9))
# logs memory/peak_mb like the PatchGD configs (no latent buffer here)
custom_imports = dict(imports=['mmpatch'], allow_failed_imports=False)
custom_hooks = [dict(type='MemoryLoggerHook')]
