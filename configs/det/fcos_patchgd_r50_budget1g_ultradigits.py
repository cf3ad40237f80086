# FCOS-R50 PatchGD under a 1 GiB memory budget, on UltraDigits canvases
# resized to 2048x2048 (a 4x4 grid of 512 px patches).
#   python tools/train.py configs/det/fcos_patchgd_r50_budget1g_ultradigits.py
# MemoryBudgetHook (of ../_base_/patchgd_runtime.py) plans on the largest
# images of the training set before training: its trial steps pick the
# largest k (patches per inner iteration) and fill_chunk that fit 1 GiB, and
# it logs the choice; MemoryLoggerHook logs memory/peak_mb every iteration,
# which MemoryBudgetHook holds to the budget. A budget below what k = 1
# needs stops the run before training, e.g.
#   ... --cfg-options model.patch_cfg.memory_budget=300M
_base_ = [
    '../_base_/models/fcos_patchgd_r50.py',
    '../_base_/datasets/coco_format_4096.py',
    '../_base_/schedules/fcos_1x.py',
    'mmdet::_base_/default_runtime.py',
    '../_base_/patchgd_runtime.py',
]
data_root = 'data/ultradigits/'
classes = tuple(str(d) for d in range(10))
img_scale = (2048, 2048)
model = dict(
    bbox_head=dict(num_classes=len(classes)),
    patch_cfg=dict(inner_iters=2, patches_per_iter='auto',
                   memory_budget='1G'))


train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
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
    ann_file='annotations/instances_train.json',
    data_prefix=dict(img='images/train/'), pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(
    data_root=data_root, metainfo=dict(classes=classes),
    ann_file='annotations/instances_val.json',
    data_prefix=dict(img='images/val/'), pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/instances_val.json')
test_evaluator = val_evaluator
max_iters = 20
train_cfg = dict(_delete_=True, type='IterBasedTrainLoop',
                 max_iters=max_iters, val_interval=max_iters)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=10)
]
# SGD as in mmdet's FCOS schedule (one momentum buffer, counted by the plan)
optim_wrapper = dict(
    optimizer=dict(_delete_=True, type='SGD', lr=0.002, momentum=0.9,
                   weight_decay=0.0001))
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=1, log_metric_by_epoch=False),
    checkpoint=dict(type='CheckpointHook', by_epoch=False,
                    interval=max_iters, max_keep_ckpts=1))
log_processor = dict(by_epoch=False)
randomness = dict(seed=0)
