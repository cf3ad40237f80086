# COCO 4096x4096 mosaics (36 COCO images per canvas, built by tools/dataset_converters/coco_mosaic.py).
#   python tools/train.py configs/fcos_patchgd_coco4096.py
# PatchGlobalDetector (FCOS-R50) on whole 4096x4096 images with 512 px
# patches; on-disk layout in docs/datasets.md.
_base_ = './_base_/fcos_patchgd_r50_coco_format.py'
data_root = 'data/coco4096/'
# the 80 COCO classes
classes = (
    'person',
    'bicycle',
    'car',
    'motorcycle',
    'airplane',
    'bus',
    'train',
    'truck',
    'boat',
    'traffic light',
    'fire hydrant',
    'stop sign',
    'parking meter',
    'bench',
    'bird',
    'cat',
    'dog',
    'horse',
    'sheep',
    'cow',
    'elephant',
    'bear',
    'zebra',
    'giraffe',
    'backpack',
    'umbrella',
    'handbag',
    'tie',
    'suitcase',
    'frisbee',
    'skis',
    'snowboard',
    'sports ball',
    'kite',
    'baseball bat',
    'baseball glove',
    'skateboard',
    'surfboard',
    'tennis racket',
    'bottle',
    'wine glass',
    'cup',
    'fork',
    'knife',
    'spoon',
    'bowl',
    'banana',
    'apple',
    'sandwich',
    'orange',
    'broccoli',
    'carrot',
    'hot dog',
    'pizza',
    'donut',
    'cake',
    'chair',
    'couch',
    'potted plant',
    'bed',
    'dining table',
    'toilet',
    'tv',
    'laptop',
    'mouse',
    'remote',
    'keyboard',
    'cell phone',
    'microwave',
    'oven',
    'toaster',
    'sink',
    'refrigerator',
    'book',
    'clock',
    'vase',
    'scissors',
    'teddy bear',
    'hair drier',
    'toothbrush',
)
model = dict(bbox_head=dict(num_classes=len(classes)))


def _split(name):
    return dict(dataset=dict(
        data_root=data_root, metainfo=dict(classes=classes),
        ann_file=f'annotations/instances_{name}.json', data_prefix=dict(img=f'{name}/')))


train_dataloader = _split('train')
val_dataloader = _split('val')
test_dataloader = _split('val')  # the mosaics have train and val only
val_evaluator = dict(ann_file=data_root + 'annotations/instances_val.json')
test_evaluator = val_evaluator
