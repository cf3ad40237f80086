# PatchGlobalDetector (FCOS-R50, inheriting mmdet's FCOS config) on a
# COCO-format set of large images: whole-image training and evaluation.
# Experiment configs set data_root, the classes, the image scale and the
# annotation files; see docs/datasets.md for each layout.
_base_ = './models/fcos_patchgd_r50.py'
dataset_type = 'CocoDataset'
backend_args = None
train_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    batch_sampler=dict(type='AspectRatioBatchSampler'),
    dataset=dict(
        type=dataset_type,
        filter_cfg=dict(filter_empty_gt=True, min_size=2),
        backend_args=backend_args))
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, test_mode=True,
                 backend_args=backend_args))
test_dataloader = val_dataloader
val_evaluator = dict(type='CocoMetric', metric='bbox', format_only=False,
                     backend_args=backend_args)
test_evaluator = val_evaluator
