# SODA-D (small object detection in driving scenes), 9 classes, as in the paper.
#   python tools/train.py configs/fcos_patchgd_sodad.py
# PatchGlobalDetector (FCOS-R50) on whole 4096x4096 images with 512 px
# patches; on-disk layout in docs/datasets.md.
_base_ = './_base_/fcos_patchgd_r50_coco_format.py'
data_root = 'data/SODA-D/'
classes = ('people', 'rider', 'bicycle', 'motor', 'vehicle', 'traffic-sign', 'traffic-light', 'traffic-camera', 'warning-cone')
img_scale = (4096, 4096)

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
    ann_file='Annotations/train.json', data_prefix=dict(img='Images/'),
    pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(
    data_root=data_root, metainfo=dict(classes=classes),
    ann_file='Annotations/val.json', data_prefix=dict(img='Images/'),
    pipeline=test_pipeline))
test_dataloader = dict(dataset=dict(
    data_root=data_root, metainfo=dict(classes=classes),
    ann_file='Annotations/test.json', data_prefix=dict(img='Images/'),
    pipeline=test_pipeline))
val_evaluator = dict(ann_file=data_root + 'Annotations/val.json')
test_evaluator = dict(ann_file=data_root + 'Annotations/test.json')
custom_hooks = [dict(type='LatentBufferHook')]
