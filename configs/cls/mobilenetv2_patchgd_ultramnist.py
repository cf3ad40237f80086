# PatchGlobalClassifier (MobileNetV2) on UltraMNIST, the paper's Jetson Nano
# run: images resized to 512 px, 256 px patches (2x2 grid), 3 inner
# iterations of 25 % of the cells (1 patch each), global patch at 256 px,
# added to every cell; 10 classes (the sum of the digits, 0..9).
#   python tools/train.py configs/cls/mobilenetv2_patchgd_ultramnist.py
#
# Data layout (mmpretrain CustomDataset annotation files): the Kaggle
# UltraMNIST images (4000x4000 JPEGs, train.csv with columns id, digit_sum)
# split into train and val, each image listed with its label:
#   data/ultramnist/images/{train,val}/{id}.jpeg
#   data/ultramnist/meta/{train,val}.txt     "{id}.jpeg {digit_sum}"
# e.g. with pandas:  df = pd.read_csv('train.csv'); val = df.sample(frac=0.1,
#   random_state=0); write f'{id}.jpeg {digit_sum}' lines of val and of the
#   rest to meta/val.txt and meta/train.txt, moving the images to match.
# Resizing 4000 px JPEGs on the fly is slow: pre-resizing them to 512 px
# once (same names) gives the same inputs.
_base_ = [
    '../_base_/models/mobilenetv2_patchgd.py',
    'mmpretrain::_base_/default_runtime.py',
    '../_base_/patchgd_runtime.py',
    '../_base_/schedules/adam_100e.py',
]
model = dict(
    head=dict(num_classes=10, in_channels=256),
    patch_cfg=dict(patch_size=256, inner_iters=3, sample_fraction=0.25),
    latent_channels=256,
    global_fusion='add')

dataset_type = 'CustomDataset'
data_root = 'data/ultramnist'
metainfo = dict(classes=('0', '1', '2', '3', '4', '5', '6', '7', '8', '9'))
img_scale = (512, 512)
# MNIST's channel statistics x 255, as the PatchGD code uses for UltraMNIST
data_preprocessor = dict(
    num_classes=10, mean=[33.33] * 3, std=[78.57] * 3, to_rgb=True)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=img_scale, interpolation='area'),
    dict(type='PackInputs'),
]
test_pipeline = train_pipeline
train_dataloader = dict(
    batch_size=16,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='meta/train.txt',
        data_prefix='images/train',
        metainfo=metainfo,
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=16,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='meta/val.txt',
        data_prefix='images/val',
        metainfo=metainfo,
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='Accuracy', topk=(1, ))
test_evaluator = val_evaluator

# schedule: ../_base_/schedules/adam_100e.py (Adam 1e-3, 100 epochs); the
# checkpoint keeps the best epoch by this config's metric
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=50),
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=2,
                    save_best='accuracy/top1', rule='greater'))
randomness = dict(seed=42)
