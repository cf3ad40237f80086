# PatchGlobalDetector (FCOS-R50, mmdet's FCOS model and 1x schedule) on a
# COCO-format set of large images: whole-image training and evaluation at
# 4096x4096. Set data_root, the classes (and model.bbox_head.num_classes)
# and the annotation files of each split; see docs/datasets.md and
# configs/det/fcos_patchgd_sodad.py for an example.
_base_ = [
    './models/fcos_patchgd_r50.py',
    './datasets/coco_format_4096.py',
    './schedules/fcos_1x.py',
    'mmdet::_base_/default_runtime.py',
    './patchgd_runtime.py',
]
