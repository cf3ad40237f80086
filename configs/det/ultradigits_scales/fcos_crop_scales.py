# Baseline: stock FCOS (the same narrow network and pretrained backbone)
# trained on random full-resolution crops of side S_c = 512 px under the
# SODA-D rule (mmpatch's RandomCropIgnorePartial, mmdet's RandomCrop that
# flags a digit with at most 40 % of its box inside the crop as ignored
# instead of training its clipped sliver as a whole digit, and
# IgnoreFCOSHead, FCOS that calls no point inside an ignored box
# background; crops without a digit are redrawn), the largest side (a
# multiple of the pad divisor 128) whose measured peak training memory fits
# ours' 78.6 MiB (fcos_patchgd_full_scales.py at 1024 px): 60.0 MiB at
# 512 px, 86.9 MiB at 640 px (batch 1):
#   python tools/analysis_tools/benchmark_memory.py \
#       configs/det/ultradigits_scales/fcos_full_scales.py \
#       --sizes 512 --baseline none --batch-size 1 --threads 1 --steps 2
# found by python tools/analysis_tools/equal_memory.py (as in
# fcos_downsampled_scales.py). An epoch draws 4 crops from each canvas
# (RepeatDataset: ceil(1024 / 512)^2, the crops of a tiling without overlap,
# one canvas of pixels), read from the decoded, memory-mapped canvases
# (LoadCachedImage) rather than decoding a whole PNG for every crop.
# Validated and tested on the whole canvases by sliced inference, in
# mmengine's own loops (tools/test.py included): the model is mmpatch's
# SlicedDetector around the FCOS, 512 px slices, overlap 0.25, slices
# batched 4 at a time, class-aware NMS merge, the FCOS's max_per_img after
# it (mmpatch/evaluation/sliced_detector.py). Checkpoints hold the FCOS
# under `detector.`.
# Digits longer than 512 px (no crop holds them whole) are the "huge" bucket.
_base_ = [
    '../../_base_/models/fcos_mini_digits_ignore.py',
    '../../_base_/datasets/ultradigits_scales_det.py',
    '../../_base_/scales_runtime.py',
    '../../_base_/schedules/adam_6e.py',
]
custom_imports = dict(
    imports=['mmpatch', 'mmpatch.datasets.lazy_image',
             'mmpatch.datasets.det_transforms',
             'mmpatch.models.fcos_heads',
             'mmpatch.evaluation.sliced_detector',
             'mmpatch.evaluation.size_buckets'],
    allow_failed_imports=False)
crop_size = 512
model = dict(
    _delete_=True,
    type='SlicedDetector',
    detector={{_base_.model}},
    slice_size=crop_size,
    overlap=0.25,
    batch_size=4,
    merge='nms')
repeat = 4
# the hooks of ./fcos_full_scales.py
custom_hooks = [
    dict(type='MemoryLoggerHook', interval=10),
    dict(type='TrainClockHook')
]
train_pipeline = [
    dict(type='LoadCachedImage', cache_dir='data/ultradigits_scales/cache'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='RandomCropIgnorePartial', crop_size=(crop_size, crop_size),
         crop_type='absolute', allow_negative_crop=False, min_visible=0.4),
    dict(type='PackDetInputs'),
]
train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='RepeatDataset',
        times=repeat,
        dataset=dict(
            type='CocoDataset',
            data_root='data/ultradigits_scales/',
            metainfo=dict(classes=tuple(str(d) for d in range(10))),
            ann_file='annotations/instances_train.json',
            data_prefix=dict(img='images/train/'),
            filter_cfg=dict(filter_empty_gt=True, min_size=0),
            pipeline=train_pipeline)))
