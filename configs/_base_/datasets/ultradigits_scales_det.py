# UltraDigits-scales digit boxes (COCO json), written by
#   python tools/make_ultradigits_scales.py --out data/ultradigits_scales
#   data/ultradigits_scales/images/{train,val,test}/*.png
#   data/ultradigits_scales/annotations/instances_{train,val,test}.json
# Whole canvases at their stored size (1024 px by default): the Resize
# keeps the size (scale_factor 1) and only records it for mmdet's rescaling.
# Batch 1 in every config of the comparison, so that equal epochs are equal
# numbers of canvases and the equal-memory sizes are per image.
# The evaluator adds AP (and AP50) per size bucket of the longer box side
# (mmpatch/evaluation/size_buckets.py); the edges come from the baselines'
# measured equal-memory sizes (configs/det/ultradigits_scales/*.py headers):
#   tiny:   below 8 px once downsampled to S_d = 512 px: < 8 * 1024 / 512
#   huge:   longer than the crop side S_c = 512 px, no crop holds it whole
#   medium: the rest
# Dataset keys, and the imports of mmpatch's LoadCachedImage and
# SizeBucketCocoMetric that they use.
custom_imports = dict(
    imports=['mmpatch', 'mmpatch.datasets.lazy_image',
             'mmpatch.evaluation.size_buckets'],
    allow_failed_imports=False)
dataset_type = 'CocoDataset'
data_root = 'data/ultradigits_scales/'
metainfo = dict(classes=tuple(str(d) for d in range(10)))
backend_args = None
size_buckets = dict(tiny=(0, 16), medium=(16, 512), huge=(512, 1e5))

# training canvases are decoded once into an uncompressed .npy cache and
# memory-mapped (mmpatch's LoadCachedImage): a 2048 px PNG takes ~0.1 s to
# decode (a 1024 px one a quarter of that, an eighth of a 512 px crop's
# training step), and a crop reads only its own pixels. Every method trains
# from the same cache.
cache_dir = data_root + 'cache'
train_pipeline = [
    dict(type='LoadCachedImage', cache_dir=cache_dir),
    dict(type='LoadAnnotations', with_bbox=True),
    # no flips: a mirrored digit is another shape
    dict(type='Resize', scale_factor=1.0, keep_ratio=True),
    dict(type='PackDetInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='Resize', scale_factor=1.0, keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                    'scale_factor')),
]


def _split(name, pipeline, test_mode):
    return dict(
        type=dataset_type,
        data_root=data_root,
        metainfo=metainfo,
        ann_file=f'annotations/instances_{name}.json',
        data_prefix=dict(img=f'images/{name}/'),
        filter_cfg=None if test_mode else dict(filter_empty_gt=True,
                                                min_size=0),
        test_mode=test_mode,
        pipeline=pipeline,
        backend_args=backend_args)


train_dataloader = dict(
    batch_size=1,
    num_workers=1,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    batch_sampler=dict(type='AspectRatioBatchSampler'),
    dataset=_split('train', train_pipeline, False))
val_dataloader = dict(
    batch_size=1,
    num_workers=1,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=_split('val', test_pipeline, True))
test_dataloader = dict(
    batch_size=1,
    num_workers=1,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=_split('test', test_pipeline, True))
val_evaluator = dict(
    type='SizeBucketCocoMetric',
    buckets=size_buckets,
    ann_file=data_root + 'annotations/instances_val.json',
    metric='bbox',
    backend_args=backend_args)
test_evaluator = dict(
    type='SizeBucketCocoMetric',
    buckets=size_buckets,
    ann_file=data_root + 'annotations/instances_test.json',
    metric='bbox',
    backend_args=backend_args)
