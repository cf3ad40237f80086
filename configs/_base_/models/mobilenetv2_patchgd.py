# PatchGlobalClassifier over mmpretrain's MobileNetV2 (1.0x): θ1 =
# MobileNetV2 (1280 channels) + GlobalAveragePooling + a 1x1 projection to
# latent_channels = 256; global patch added to every grid cell; θ2 = GridHead +
# LinearClsHead. Experiment configs set num_classes, the data preprocessor
# and patch_cfg's sizes.
#
# No weights are downloaded (model init_cfg=None). To start from a local
# ImageNet checkpoint downloaded by hand (e.g. mmpretrain's
# mobilenet_v2_batch256_imagenet_20200708-3b2dc3af.pth), set in the
# experiment config:
#   model = dict(backbone=dict(init_cfg=dict(
#       type='Pretrained', prefix='backbone',
#       checkpoint='checkpoints/'
#       'mobilenet_v2_batch256_imagenet_20200708-3b2dc3af.pth')))
_base_ = 'mmpretrain::_base_/models/mobilenet_v2_1x.py'

custom_imports = dict(
    imports=['mmpatch.models.classifier'], allow_failed_imports=False)

model = dict(
    type='PatchGlobalClassifier',
    # the backbone keeps its own init_cfg (Kaiming conv / constant BN init,
    # no download); init_cfg=None: no pretrained weights for the model
    backbone=dict(norm_cfg=dict(type='BN', requires_grad=True)),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=10,
        in_channels=256,  # = grid_head.channels
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, )),
    init_cfg=None,
    patch_cfg=dict(
        patch_size=256,
        inner_iters=3,
        sample_fraction=0.25,
        sampling='disjoint',
        keep_updates=True,
        fill_chunk=16,
        fill_bn_mode='eval'),
    latent_channels=256,
    global_fusion='add',
    grid_head=dict(channels=256, num_blocks=3, dropout=0.1))
