# Baseline: stock FCOS (the same narrow network and pretrained backbone)
# trained on random full-resolution crops of side S_c = 768 px (mmdet's
# RandomCrop; crops without a digit are redrawn), the largest side (a
# multiple of the pad divisor 128) whose measured peak training memory fits
# ours' 130.3 MiB (fcos_patchgd_scales.py at 2048 px): 118.1 MiB at 768 px,
# 156.4 MiB at 896 px (batch 1):
#   python tools/analysis_tools/benchmark_memory.py \
#       configs/det/ultradigits_scales/fcos_full_scales.py \
#       --sizes 768 --baseline none --batch-size 1 --threads 1 --steps 2
# found by python tools/analysis_tools/equal_memory.py (as in
# fcos_downsampled_scales.py). An epoch draws 9 crops from each canvas
# (RepeatDataset: ceil(2048 / 768)^2, the crops of a tiling without overlap,
# about one canvas of pixels), read from the decoded, memory-mapped canvases
# (LoadCachedImage) rather than decoding a 2048 px PNG for every crop.
# Evaluated on the whole test canvases by sliced inference (768 px slices,
# overlap 0.25, NMS merge; mmpatch/evaluation/sliced.py):
#   python tools/analysis_tools/sliced_eval.py \
#       configs/det/ultradigits_scales/fcos_crop_scales.py CHECKPOINT \
#       --slice-size 768
# (its own test loop, tools/test.py, runs it on whole canvases at once.)
# Digits longer than 768 px (no crop holds them whole) are the "huge" bucket.
_base_ = ['./_base_/stock.py']
crop_size = 768
repeat = 9
train_pipeline = [
    dict(type='LoadCachedImage', cache_dir='data/ultradigits_scales/cache'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='RandomCrop', crop_size=(crop_size, crop_size),
         crop_type='absolute', allow_negative_crop=False,
         bbox_clip_border=True),
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
