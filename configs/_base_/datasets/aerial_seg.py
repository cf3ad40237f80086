# Aerial imagery (the Dubai "Semantic segmentation of aerial imagery" set),
# converted to mmseg format by tools/dataset_converters/dubai_aerial.py:
#   data/aerial/img_dir/{train,val}/*.png   1024x1024 RGB tiles
#   data/aerial/ann_dir/{train,val}/*.png   class ids 0..5
dataset_type = 'BaseSegDataset'
data_root = 'data/aerial'
metainfo = dict(
    classes=('building', 'land', 'road', 'vegetation', 'water', 'unlabeled'),
    palette=[[60, 16, 152], [132, 41, 246], [110, 193, 228],
             [254, 221, 58], [226, 169, 41], [155, 155, 155]])
img_scale = (1024, 1024)
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


def _split(name, pipeline):
    return dict(
        type=dataset_type, data_root=data_root, metainfo=metainfo,
        data_prefix=dict(img_path=f'img_dir/{name}',
                         seg_map_path=f'ann_dir/{name}'),
        img_suffix='.png', seg_map_suffix='.png', pipeline=pipeline)


train_dataloader = dict(
    batch_size=2, num_workers=2, persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=_split('train', train_pipeline))
val_dataloader = dict(
    batch_size=1, num_workers=2, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=_split('val', test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU', 'mDice'])
test_evaluator = val_evaluator
