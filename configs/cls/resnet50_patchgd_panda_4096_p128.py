# configs/cls/resnet50_patchgd_panda.py at 4096 px with 128 px patches: 32x32
# grid, 8 inner iterations of 128 patches, batch 2 (256 patches of 128^2 per
# inner iteration)
#   python tools/dataset_converters/panda.py ROOT data/panda_4096 --size 4096
_base_ = ['./resnet50_patchgd_panda.py']
data_root = 'data/panda_4096'
img_scale = (4096, 4096)
# the pipelines of ../_base_/datasets/panda.py at this img_scale (a child
# cannot re-evaluate its base with another value: configs/README.md)
train_pipeline = [
    dict(type='LoadImageFromFile'),
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
train_dataloader = dict(
    batch_size=2,
    dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=2,
    dataset=dict(data_root=data_root, pipeline=test_pipeline))
# the same changes, merged into the base's test split
test_dataloader = val_dataloader
model = dict(patch_cfg=dict(inner_iters=8, sample_fraction=0.125))
