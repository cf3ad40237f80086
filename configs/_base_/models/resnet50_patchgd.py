# PatchGlobalClassifier over mmpretrain's ResNet-50 (docs/method.md): θ1 =
# ResNet-50 + GlobalAveragePooling + a 1x1 projection to latent_channels = 256
# (the PatchGD paper's latent dimension), one 256-vector per patch; the
# global patch's vector is added to every grid cell (global_fusion='add');
# θ2 = the grid CNN (GridHead) + LinearClsHead. Experiment configs set
# num_classes, the data preprocessor and patch_cfg's sizes.
#
# No weights are downloaded (model init_cfg=None). To start from a local
# ImageNet checkpoint downloaded by hand (e.g. mmpretrain's
# resnet50_8xb32_in1k_20210831-ea4938fc.pth), set in the experiment config:
#   model = dict(backbone=dict(init_cfg=dict(
#       type='Pretrained', prefix='backbone',
#       checkpoint='checkpoints/resnet50_8xb32_in1k_20210831-ea4938fc.pth')))
_base_ = 'mmpretrain::_base_/models/resnet50.py'

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
        num_classes=6,
        in_channels=256,  # = grid_head.channels
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, )),
    init_cfg=None,
    patch_cfg=dict(
        patch_size=128,
        inner_iters=4,
        sample_fraction=0.25,
        sampling='disjoint',
        keep_updates=True,
        fill_chunk=16,
        fill_bn_mode='eval'),
    latent_channels=256,
    global_fusion='add',
    grid_head=dict(channels=256, num_blocks=3, dropout=0.1))
