# UltraDigits stroke masks (mmseg format), written by tools/make_ultradigits.py:
#   data/ultradigits/images/{train,val,test}/*.png   canvases (RGB)
#   data/ultradigits/masks/{train,val,test}/*.png    0 = background, 1 = stroke
dataset_type = 'BaseSegDataset'
data_root = 'data/ultradigits'
metainfo = dict(
    classes=('background', 'stroke'), palette=[[0, 0, 0], [255, 64, 64]])
# the 1024 px canvases at 512 px: the smallest digits keep 8 px, the
# resolution of the sklearn digits they are drawn from, and a CPU trains it
img_scale = (512, 512)

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    # masks are scored at the original size: load them after Resize
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs'),
]


def _split(name, pipeline):
    return dict(
        type=dataset_type,
        data_root=data_root,
        metainfo=metainfo,
        data_prefix=dict(
            img_path=f'images/{name}', seg_map_path=f'masks/{name}'),
        img_suffix='.png',
        seg_map_suffix='.png',
        reduce_zero_label=False,
        pipeline=pipeline)


train_dataloader = dict(
    batch_size=2,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=_split('train', train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=_split('val', test_pipeline))
test_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=_split('test', test_pipeline))
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU', 'mDice', 'mFscore'])
test_evaluator = val_evaluator
