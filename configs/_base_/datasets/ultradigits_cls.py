# UltraDigits canvas labels (mmpretrain CustomDataset annotation files),
# written by tools/make_ultradigits.py:
#   data/ultradigits/images/{train,val,test}/{name}.png   canvases
#   data/ultradigits/meta/{train,val,test}.txt            "{name}.png {label}"
# The label is the sum of the canvas's digits, 0..9 (as UltraMNIST).
# No flips: a mirrored digit is not a digit. Resize uses area interpolation
# so thin strokes survive downsampling.
dataset_type = 'CustomDataset'
data_root = 'data/ultradigits'
metainfo = dict(classes=('0', '1', '2', '3', '4', '5', '6', '7', '8', '9'))
img_scale = (512, 512)

# merged into the model by the Runner (mmpretrain's convention)
data_preprocessor = dict(
    num_classes=10,
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    to_rgb=True)

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=img_scale, interpolation='area'),
    dict(type='PackInputs'),
]
test_pipeline = train_pipeline


def _split(name, pipeline):
    return dict(
        type=dataset_type,
        data_root=data_root,
        ann_file=f'meta/{name}.txt',
        data_prefix=f'images/{name}',
        metainfo=metainfo,
        pipeline=pipeline)


train_dataloader = dict(
    batch_size=4,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=_split('train', train_pipeline))
val_dataloader = dict(
    batch_size=4,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=_split('val', test_pipeline))
test_dataloader = dict(
    batch_size=4,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=_split('test', test_pipeline))
val_evaluator = dict(type='Accuracy', topk=(1, ))
test_evaluator = val_evaluator
