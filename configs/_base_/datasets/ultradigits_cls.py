# UltraDigits-cls (mmpretrain CustomDataset annotation files), written by
#   python tools/make_ultradigits_cls.py --out data/ultradigits_cls
#   data/ultradigits_cls/images/{train,val,test}/{name}.png   1024 px canvases
#   data/ultradigits_cls/meta/{train,val,test}.txt            "{name}.png {label}"
# 4 classes: a large 6 or 9 (160-224 px) and a lattice of small digits
# (10-13 px) that are all 6 or all 9; label = 2 * (large is 9) + (small are
# 9). See mmpatch/datasets/ultradigits_cls.py for why both need PatchGD's
# full-resolution patches and its global patch.
# No flips or rotations: they would turn a 6 into a 9. Resize uses area
# interpolation, so a downsampled canvas keeps what a box filter keeps.
dataset_type = 'CustomDataset'
data_root = 'data/ultradigits_cls'
metainfo = dict(classes=('large6_small6', 'large6_small9', 'large9_small6',
                         'large9_small9'))
img_scale = (1024, 1024)

# merged into the model by the Runner (mmpretrain's convention)
data_preprocessor = dict(
    num_classes=4,
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
