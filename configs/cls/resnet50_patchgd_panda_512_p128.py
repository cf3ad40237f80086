# configs/cls/resnet50_patchgd_panda.py at 512 px with 128 px patches: 4x4
# grid, 4 inner iterations of 4 patches, batch 16 (64 patches of 128^2 per
# inner iteration); the main config's patch_cfg, inherited
#   python tools/dataset_converters/panda.py ROOT data/panda_512 --size 512
_base_ = ['./resnet50_patchgd_panda.py']
data_root = 'data/panda_512'
img_scale = (512, 512)
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
    batch_size=16,
    dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=16,
    dataset=dict(data_root=data_root, pipeline=test_pipeline))
# the same changes, merged into the base's test split
test_dataloader = val_dataloader
