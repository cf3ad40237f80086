# Baseline "downsampled" for PANDA: stock mmpretrain ImageClassifier with the
# same ResNet-50 (+ GlobalAveragePooling + LinearClsHead) on the 2048 px
# slides resized to 1024 px. At equal memory:
# configs/cls/resnet50_patchgd_panda.py keeps 64 patches of 128^2 (= 1024^2 pixels) of each image with gradients
# per inner iteration, plus the 128 px global patch. Same batch, schedule and
# evaluation as the PatchGD config. (Resized to the patch size instead, set
# img_scale = (128, 128) below.)
_base_ = ['../resnet50_patchgd_panda.py']
model = dict(
    _delete_=True,
    type='ImageClassifier',
    backbone=dict(
        type='ResNet',
        depth=50,
        num_stages=4,
        out_indices=(3, ),
        style='pytorch',
        norm_cfg=dict(type='BN', requires_grad=True)),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=6,
        in_channels=2048,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, )),
    init_cfg=None)
# a stock model: mmengine's DDP, not the PatchGD wrapper, and mmpretrain's
# float preprocessor
model_wrapper_cfg = dict(type='MMDistributedDataParallel')
data_preprocessor = dict(type='ClsDataPreprocessor')
img_scale = (1024, 1024)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=img_scale, interpolation='area'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='RandomFlip', prob=0.5, direction='vertical'),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=img_scale, interpolation='area'),
    dict(type='PackInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
