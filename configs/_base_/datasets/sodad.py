# SODA-D (small object detection in driving scenes), 9 classes, COCO-format,
# at 4096x4096 as in the paper; on-disk layout in docs/datasets.md.
# Dataset keys only (with ./coco_format_4096.py): the configs that use it
# set model.bbox_head.num_classes = 9.
_base_ = './coco_format_4096.py'
data_root = 'data/SODA-D/'
classes = ('people', 'rider', 'bicycle', 'motor', 'vehicle', 'traffic-sign',
           'traffic-light', 'traffic-camera', 'warning-cone')


def _split(name):
    return dict(dataset=dict(
        data_root=data_root, metainfo=dict(classes=classes),
        ann_file=f'Annotations/{name}.json', data_prefix=dict(img='Images/')))


train_dataloader = _split('train')
val_dataloader = _split('val')
test_dataloader = _split('test')
val_evaluator = dict(ann_file=data_root + 'Annotations/val.json')
test_evaluator = dict(ann_file=data_root + 'Annotations/test.json')
