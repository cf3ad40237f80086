# PatchGlobalDetector (narrow FCOS) on UltraDigits: the demo of `make demo`.
#   python tools/train.py configs/fcos_patchgd_ultradigits.py
# Whole 1024 px canvases, 256 px patches (4x4 grid), 4 inner iterations of
# 4 patches, global patch at 256 px. Trains on a 2-core CPU in minutes.
_base_ = [
    './_base_/models/fcos_mini.py',
    './_base_/datasets/ultradigits_det.py',
    './_base_/schedules/cpu_short.py',
]
custom_imports = dict(
    imports=['mmpatch.models.detector'], allow_failed_imports=False)
model = dict(
    type='PatchGlobalDetector',
    patch_cfg=dict(patch_size=256, inner_iters=4, sample_fraction=0.25,
                   fill_chunk=8),
    latent_channels=32,
    global_fusion='concat')
custom_hooks = [dict(type='LatentBufferHook')]
default_hooks = dict(visualization=dict(type='DetVisualizationHook'))
