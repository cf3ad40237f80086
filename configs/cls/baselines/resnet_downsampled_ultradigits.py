# Baseline "downsampled": stock mmpretrain ImageClassifier, the same narrow
# ResNet-18 as configs/cls/resnet_patchgd_ultradigits.py, from the same
# pretrained weights (+ GlobalAveragePooling + LinearClsHead), trained and
# tested on the canvas resized to 296 px: the largest side (a multiple of
# 8) whose training step fits the PatchGD config's memory at batch 4, 50.7
# against 52.0 MiB (small digits shrink to 2.3-2.9 px). Measured with
#   python tools/analysis_tools/benchmark_memory.py \
#       configs/cls/baselines/resnet_downsampled_ultradigits.py \
#       --sizes 288 296 304 --batch-size 4
# Same schedule, batch and hooks as the PatchGD config (those of
# ../../_base_/patchgd_runtime.py): MemoryLoggerHook logs its peak memory;
# MemoryBudgetHook has no budget to hold and passes over a stock model.
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
        norm_cfg=dict(type='BN', requires_grad=True),
        init_cfg=dict(
            type='Pretrained', checkpoint={{_base_.pretrained}},
            prefix='backbone')),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=4,
        in_channels=128,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, )),
    init_cfg=None)
# the stock float batch (mmpretrain's ClsDataPreprocessor)
data_preprocessor = dict(_delete_=True, num_classes=4,
                         mean=[123.675, 116.28, 103.53],
                         std=[58.395, 57.12, 57.375], to_rgb=True)
# a stock model: mmengine's DDP, not the PatchGD wrapper
model_wrapper_cfg = dict(type='MMDistributedDataParallel')
img_scale = (296, 296)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=img_scale, interpolation='area'),
    dict(type='PackInputs'),
]
test_pipeline = train_pipeline
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
