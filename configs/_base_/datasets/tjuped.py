# TJU-Ped-traffic (TJU-DHD pedestrian, traffic scenes), COCO-format, at
# 2048x2048; on-disk layout in docs/datasets.md.
# Dataset keys only (with ./coco_format_4096.py): the configs that use it
# set model.bbox_head.num_classes = 1.
_base_ = './coco_format_4096.py'
data_root = 'data/TJU-Ped-traffic/'
classes = ('pedestrian', )
# TJU-Ped-traffic images are 1624x1200: train and test at 2048
img_scale = (2048, 2048)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                    'scale_factor')),
]

def _split(name, pipeline):
    return dict(dataset=dict(
        data_root=data_root, metainfo=dict(classes=classes),
        ann_file=f'annotations/{name}.json',
        data_prefix=dict(img=f'images/{name}/'), pipeline=pipeline))


train_dataloader = _split('train', train_pipeline)
val_dataloader = _split('val', test_pipeline)
test_dataloader = _split('test', test_pipeline)
val_evaluator = dict(ann_file=data_root + 'annotations/val.json')
test_evaluator = dict(ann_file=data_root + 'annotations/test.json')
