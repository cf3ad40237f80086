# PatchGlobalSegmentor over mmseg's DeepLabV3 (ResNet-50-D8).
_base_ = 'mmseg::_base_/models/deeplabv3_r50-d8.py'

custom_imports = dict(
    imports=['mmpatch.models.segmentor'], allow_failed_imports=False)

norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    type='PatchGlobalSegmentor',
    # no network at run time: point `pretrained` (or
    # backbone.init_cfg=dict(type='Pretrained', checkpoint=...)) at a local
    # ImageNet checkpoint if you have one
    pretrained=None,
    backbone=dict(norm_cfg=norm_cfg),
    decode_head=dict(
        norm_cfg=norm_cfg,
        loss_decode=[
            dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0,
                 avg_non_ignore=True),
            dict(type='DiceLoss', loss_weight=1.0),
        ]),
    auxiliary_head=None,
    test_cfg=dict(mode='whole'),
    patch_cfg=dict(patch_size=128, inner_iters=4, sample_fraction=0.25),
    latent_channels=8,
    global_fusion='concat')
