# SODA-D (small object detection in driving scenes), 9 classes, as in the paper.
#   python tools/train.py configs/fcos_patchgd_sodad.py
# PatchGlobalDetector (FCOS-R50) on whole 4096x4096 images with 512 px
# patches; on-disk layout in docs/datasets.md.
_base_ = './_base_/fcos_patchgd_r50_coco_format.py'
data_root = 'data/SODA-D/'
classes = ('people', 'rider', 'bicycle', 'motor', 'vehicle', 'traffic-sign',
           'traffic-light', 'traffic-camera', 'warning-cone')
model = dict(bbox_head=dict(num_classes=len(classes)))


def _split(name):
    return dict(dataset=dict(
        data_root=data_root, metainfo=dict(classes=classes),
        ann_file=f'Annotations/{name}.json', data_prefix=dict(img='Images/')))


train_dataloader = _split('train')
val_dataloader = _split('val')
test_dataloader = _split('test')
val_evaluator = dict(ann_file=data_root + 'Annotations/val.json')
test_evaluator = dict(ann_file=data_root + 'Annotations/test.json')
