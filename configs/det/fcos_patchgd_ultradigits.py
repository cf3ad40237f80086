# PatchGlobalDetector (narrow FCOS) on UltraDigits: the demo of `make demo`.
#   python tools/train.py configs/det/fcos_patchgd_ultradigits.py
# Whole 1024 px canvases, 256 px patches (4x4 grid), 2 inner iterations of
# 4 patches with an optimizer step after each, global patch at 256 px. The
# head's towers run per patch (θ1), so θ2 on the whole image is a few
# composed convs. Trains on a 2-core CPU in minutes.
_base_ = [
    '../_base_/models/fcos_mini.py',
    '../_base_/datasets/ultradigits_det.py',
    'mmdet::_base_/default_runtime.py',
    '../_base_/patchgd_runtime.py',
    '../_base_/schedules/cpu_short.py',
]
custom_imports = dict(
    imports=['mmpatch.models.detector'], allow_failed_imports=False)
model = dict(
    type='PatchGlobalDetector',
    patch_cfg=dict(patch_size=256, inner_iters=2, sample_fraction=0.25,
                   accumulate=1, fill_chunk=8),
    towers_in_patch=True,
    latent_channels=32,
    global_fusion='concat')
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=10, log_metric_by_epoch=False),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=300,
                    max_keep_ckpts=1))
log_processor = dict(by_epoch=False)
randomness = dict(seed=0)
