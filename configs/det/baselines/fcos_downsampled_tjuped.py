# Baseline "downsampled": stock mmdet FCOS-R50 (./fcos_full_tjuped.py) on the
# images resized to 896 px instead of 2048: the largest side whose
# measured training peak stays under that of configs/det/fcos_patchgd_tjuped.py
# at 2048 px with its default k (docs/configs.md gives both figures and
# the commands). Boxes are rescaled to the original image for scoring, as
# mmdet does.
#   python tools/train.py configs/det/baselines/fcos_downsampled_tjuped.py
_base_ = './fcos_full_tjuped.py'
img_scale = (896, 896)
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
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
