# TJU-Ped-traffic (TJU-DHD pedestrian, traffic scenes), COCO-format.
#   python tools/train.py configs/fcos_patchgd_tjuped.py
# PatchGlobalDetector (FCOS-R50) on whole 2048x2048 images with 512 px
# patches; on-disk layout in docs/datasets.md.
_base_ = './_base_/fcos_patchgd_r50_coco_format.py'
data_root = 'data/TJU-Ped-traffic/'
classes = ('pedestrian',)
img_scale = (2048, 2048)

model = dict(
    bbox_head=dict(num_classes=len(classes)),
    patch_cfg=dict(patch_size=512))

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
train_dataloader = dict(dataset=dict(
    data_root=data_root, metainfo=dict(classes=classes),
    ann_file='annotations/train.json', data_prefix=dict(img='images/train/'),
    pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(
    data_root=data_root, metainfo=dict(classes=classes),
    ann_file='annotations/val.json', data_prefix=dict(img='images/val/'),
    pipeline=test_pipeline))
test_dataloader = dict(dataset=dict(
    data_root=data_root, metainfo=dict(classes=classes),
    ann_file='annotations/test.json', data_prefix=dict(img='images/test/'),
    pipeline=test_pipeline))
val_evaluator = dict(ann_file=data_root + 'annotations/val.json')
test_evaluator = dict(ann_file=data_root + 'annotations/test.json')
custom_hooks = [dict(type='LatentBufferHook')]
