# The stock mmseg U-Net (EncoderDecoder) used by the baselines: the same
# network and losses that ./unet_patchgd.py wraps in PatchGD.
_base_ = 'mmseg::_base_/models/fcn_unet_s5-d16.py'
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
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
    test_cfg=dict(mode='whole'))
