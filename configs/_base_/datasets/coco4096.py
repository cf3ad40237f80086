# COCO 4096x4096 mosaics (36 COCO images per canvas, built by
# tools/dataset_converters/coco_mosaic.py), the 80 COCO classes; on-disk
# layout in docs/datasets.md.
# Dataset keys only (with ./coco_format_4096.py): the configs that use it
# set model.bbox_head.num_classes = 80.
_base_ = './coco_format_4096.py'
data_root = 'data/coco4096/'
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


def _split(name):
    return dict(dataset=dict(
        data_root=data_root, metainfo=dict(classes=classes),
        ann_file=f'annotations/instances_{name}.json', data_prefix=dict(img=f'{name}/')))


train_dataloader = _split('train')
val_dataloader = _split('val')
test_dataloader = _split('val')  # the mosaics have train and val only
val_evaluator = dict(ann_file=data_root + 'annotations/instances_val.json')
test_evaluator = val_evaluator
