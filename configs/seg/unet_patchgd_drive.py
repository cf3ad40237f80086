# PatchGlobalSegmentor (U-Net) on DRIVE retinal vessels, as in the paper:
# images resized to 512x512, 128 px patches (4x4 grid), Dice + CE.
#   python tools/train.py configs/seg/unet_patchgd_drive.py
# Data: mmseg's own layout, see docs/datasets.md (tools/dataset_converters/
# drive.py of mmseg prepares it).
_base_ = [
    '../_base_/models/unet_patchgd.py',
    'mmseg::_base_/datasets/drive.py',
    'mmseg::_base_/default_runtime.py',
    '../_base_/patchgd_runtime.py',
    'mmseg::_base_/schedules/schedule_40k.py',
]
img_scale = (512, 512)
model = dict(
    data_preprocessor=dict(size=img_scale),
    patch_cfg=dict(patch_size=128, inner_iters=4, sample_fraction=0.25))
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
