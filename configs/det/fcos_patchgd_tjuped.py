# TJU-Ped-traffic (TJU-DHD pedestrian, traffic scenes), COCO-format.
#   python tools/train.py configs/det/fcos_patchgd_tjuped.py
# PatchGlobalDetector (FCOS-R50) on whole 2048x2048 images with 512 px
# patches; on-disk layout in docs/datasets.md.
_base_ = [
    '../_base_/models/fcos_patchgd_r50.py',
    '../_base_/datasets/tjuped.py',
    '../_base_/schedules/fcos_1x.py',
    'mmdet::_base_/default_runtime.py',
    '../_base_/patchgd_runtime.py',
]
model = dict(bbox_head=dict(num_classes=1))
