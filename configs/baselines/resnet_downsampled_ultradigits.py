# Baseline "downsampled": stock mmpretrain ImageClassifier, the same narrow
# ResNet-18 as configs/resnet_patchgd_ultradigits.py (+ GlobalAveragePooling
# + LinearClsHead), trained and tested on the canvas resized to the patch
# size, 128 px (the smallest digits shrink to 2 px). Same schedule, batch and
# hooks as the PatchGD config; LatentBufferHook logs its peak memory.
_base_ = ['../resnet_patchgd_ultradigits.py']
model = dict(
    _delete_=True,
    type='ImageClassifier',
    backbone=dict(
        type='ResNet',
        depth=18,
        stem_channels=16,
        base_channels=16,
        num_stages=4,
        out_indices=(3, ),
        style='pytorch',
        norm_cfg=dict(type='BN', requires_grad=True)),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=10,
        in_channels=128,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, )),
    init_cfg=None)
# a stock model: mmengine's DDP, not the PatchGD wrapper
model_wrapper_cfg = dict(type='MMDistributedDataParallel')
img_scale = (128, 128)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=img_scale, interpolation='area'),
    dict(type='PackInputs'),
]
test_pipeline = train_pipeline
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
