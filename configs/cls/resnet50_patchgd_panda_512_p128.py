# configs/cls/resnet50_patchgd_panda.py at 512 px with 128 px patches: 4x4 grid, 4
# inner iterations of 4 patches, batch 16 (64 patches of 128^2 per inner
# iteration)
#   python tools/dataset_converters/panda.py ROOT data/panda_512 --size 512
_base_ = ['./resnet50_patchgd_panda.py']
data_root = 'data/panda_512'
img_scale = (512, 512)
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
test_dataloader = dict(
    batch_size=16,
    dataset=dict(data_root=data_root, pipeline=test_pipeline))
model = dict(
    patch_cfg=dict(patch_size=128, inner_iters=4, sample_fraction=0.25))
