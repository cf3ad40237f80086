# DRIVE retinal vessels as the paper uses them: mmseg's DRIVE dataset
# (mmseg::_base_/datasets/drive.py, its on-disk layout: docs/datasets.md)
# with the images resized to 512x512 instead of random crops, batch 4,
# scored with mIoU and mDice. Dataset keys only, so the PatchGD config and
# its full-resolution baseline share it; configs set
# model.data_preprocessor.size = img_scale.
_base_ = 'mmseg::_base_/datasets/drive.py'
img_scale = (512, 512)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='Resize', scale=img_scale, keep_ratio=False),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=img_scale, keep_ratio=False),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(
    batch_size=4, dataset=dict(dataset=dict(pipeline=train_pipeline)))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU', 'mDice'])
test_evaluator = val_evaluator
