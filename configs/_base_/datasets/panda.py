# PANDA (Prostate cANcer graDe Assessment) ISUP grades, 6 classes (0..5), as
# mmpretrain CustomDataset annotation files written by
# tools/dataset_converters/panda.py from the Kaggle download:
#   python tools/dataset_converters/panda.py ROOT data/panda_2048 \
#       --size 2048
# which writes (slides padded to square with white, then resized)
#   data/panda_2048/images/{image_id}.png      2048 x 2048 RGB
#   data/panda_2048/meta/{train,val,test}.txt  "{image_id}.png {isup_grade}"
#   data/panda_2048/meta/classes.txt
# with the seeded 8616 / 1000 / 1000 split. Scored with accuracy and
# quadratic-weighted kappa (PANDA's metric): configs using this base import
# mmpatch.evaluation.kappa in custom_imports. Variants at other sizes set
# img_scale, data_root and the pipelines
# (see configs/cls/resnet50_patchgd_panda_*.py).
dataset_type = 'CustomDataset'
data_root = 'data/panda_2048'
metainfo = dict(classes=('0', '1', '2', '3', '4', '5'))
img_scale = (2048, 2048)

# PANDA's channel statistics at 512 px (RGB, from the PatchGD code), x 255;
# merged into the model by the Runner (mmpretrain's convention)
data_preprocessor = dict(
    num_classes=6,
    mean=[249.13, 243.52, 246.51],
    std=[19.97, 35.37, 25.65],
    to_rgb=True)

train_pipeline = [
    dict(type='LoadImageFromFile'),
    # a no-op when the converter wrote this size already
    dict(type='Resize', scale=img_scale, interpolation='area'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='RandomFlip', prob=0.5, direction='vertical'),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=img_scale, interpolation='area'),
    dict(type='PackInputs'),
]


def _split(name, pipeline):
    return dict(
        type=dataset_type,
        data_root=data_root,
        ann_file=f'meta/{name}.txt',
        data_prefix='images',
        metainfo=metainfo,
        pipeline=pipeline)


train_dataloader = dict(
    batch_size=4,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=_split('train', train_pipeline))
val_dataloader = dict(
    batch_size=4,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=_split('val', test_pipeline))
test_dataloader = dict(
    batch_size=4,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=_split('test', test_pipeline))
val_evaluator = [
    dict(type='Accuracy', topk=(1, )),
    dict(type='QuadraticWeightedKappa', num_classes=6),
]
test_evaluator = val_evaluator
