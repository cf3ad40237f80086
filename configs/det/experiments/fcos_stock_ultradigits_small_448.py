# Equal-memory experiment (issue #5), stock side with mmdet's usual
# pad_size_divisor=32: 448 px, training peak 84.2 MiB (batch 2), under
# fcos_patchgd_ultradigits_small.py's 88.4 MiB:
#   python tools/analysis_tools/benchmark_memory.py \
#       configs/det/experiments/fcos_patchgd_ultradigits_small.py \
#       --baseline-config configs/det/baselines/fcos_full_ultradigits.py \
#       --baseline-cfg-options model.data_preprocessor.pad_size_divisor=32 \
#       --sizes 448 --batch-size 2
_base_ = ['./fcos_stock_ultradigits_small_384.py']
model = dict(data_preprocessor=dict(pad_size_divisor=32))
img_scale = (448, 448)
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
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
