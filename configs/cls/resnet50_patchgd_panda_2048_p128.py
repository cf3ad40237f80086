# configs/cls/resnet50_patchgd_panda.py at 2048 px with 128 px patches: 16x16 grid,
# 4 inner iterations of 64 patches, batch 4 (the main config's setting)
#   python tools/dataset_converters/panda.py ROOT data/panda_2048 --size 2048
_base_ = ['./resnet50_patchgd_panda.py']
data_root = 'data/panda_2048'
img_scale = (2048, 2048)
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
    batch_size=4,
    dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=4,
    dataset=dict(data_root=data_root, pipeline=test_pipeline))
test_dataloader = dict(
    batch_size=4,
    dataset=dict(data_root=data_root, pipeline=test_pipeline))
model = dict(
    patch_cfg=dict(patch_size=128, inner_iters=4, sample_fraction=0.25))
