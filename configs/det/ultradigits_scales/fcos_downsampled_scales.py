# Baseline: stock FCOS (the same narrow network and pretrained backbone) on
# canvases downsampled to S_d = 512 px, the largest side (a multiple of the
# pad divisor 128) whose measured peak training memory fits ours' 78.6 MiB
# (fcos_patchgd_full_scales.py at 1024 px): 60.0 MiB at 512 px, 86.9 MiB
# at 640 px (batch 1):
#   python tools/analysis_tools/benchmark_memory.py \
#       configs/det/ultradigits_scales/fcos_full_scales.py \
#       --sizes 512 --baseline none --batch-size 1 --threads 1 --steps 2
# found by python tools/analysis_tools/equal_memory.py
#   configs/det/ultradigits_scales/fcos_patchgd_full_scales.py
#   --stock configs/det/ultradigits_scales/fcos_full_scales.py --canvas 1024
# Boxes are rescaled to the canvas for scoring, as mmdet does. A digit below
# 8 px once downsampled (longer side < 16 px of the canvas) is the
# "tiny" bucket of the comparison.
_base_ = ['./fcos_full_scales.py']
img_scale = (512, 512)
train_pipeline = [
    dict(type='LoadCachedImage', cache_dir='data/ultradigits_scales/cache'),
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
