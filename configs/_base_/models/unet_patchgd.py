# PatchGlobalSegmentor over mmseg's U-Net (unet-s5-d16): the stock mmseg
# model with a new `type`, plain BN (one process needs no SyncBN), no
# auxiliary head, whole-image inference and the paper's Dice + CE losses.
_base_ = 'mmseg::_base_/models/fcn_unet_s5-d16.py'

custom_imports = dict(
    imports=['mmpatch.models.segmentor'], allow_failed_imports=False)

norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    type='PatchGlobalSegmentor',
    backbone=dict(norm_cfg=norm_cfg),
    decode_head=dict(
        norm_cfg=norm_cfg,
        loss_decode=[
            dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0,
                 avg_non_ignore=True),
            # Dice of the foreground channel only (ignore_index=0 drops the
            # background channel): mmseg's DiceLoss pools all class channels,
            # and a background of 99 % of the pixels would swamp thin strokes
            # or vessels
            dict(type='DiceLoss', use_sigmoid=False, ignore_index=0,
                 loss_weight=1.0),
        ]),
    auxiliary_head=None,
    test_cfg=dict(mode='whole'),
    # docs/method.md defaults, with the paper's 128 px patches
    patch_cfg=dict(
        patch_size=128,
        inner_iters=4,
        sample_fraction=0.25,
        sampling='disjoint',
        keep_updates=True,
        fill_chunk=16,
        bn_mode='eval'),
    latent_channels=8,
    global_fusion='concat',
    num_fusion_convs=0)
