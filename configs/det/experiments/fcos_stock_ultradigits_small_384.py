# Equal-memory experiment (issue #5), stock side: the same narrow FCOS on
# UltraDigits-small downsampled to 384 px, the largest side whose training
# peak (65.1 MiB, batch 2) stays under fcos_patchgd_ultradigits_small.py's
# 88.4 MiB with the model base's pad_size_divisor=128 (448 px pads to 512
# px: 106.3 MiB):
#   python tools/analysis_tools/benchmark_memory.py \
#       configs/det/experiments/fcos_patchgd_ultradigits_small.py \
#       --baseline-config configs/det/baselines/fcos_full_ultradigits.py \
#       --sizes 384 512 --batch-size 2
_base_ = ['../baselines/fcos_full_ultradigits.py']
# the data of fcos_patchgd_ultradigits_small.py
data_root = 'data/ultradigits_small/'
img_scale = (384, 384)
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
train_dataloader = dict(
    dataset=dict(data_root=data_root, pipeline=train_pipeline,
                 filter_cfg=dict(filter_empty_gt=True, min_size=0)))
val_dataloader = dict(
    dataset=dict(data_root=data_root, pipeline=test_pipeline))
test_dataloader = dict(
    dataset=dict(data_root=data_root, pipeline=test_pipeline))
val_evaluator = dict(ann_file=data_root + 'annotations/instances_val.json')
test_evaluator = dict(ann_file=data_root + 'annotations/instances_test.json')
