# A narrow FCOS (ResNet-18 at a quarter width, 64-channel FPN and head) that
# trains on a 2-core CPU in minutes. The same network serves PatchGD and the
# stock-FCOS baselines, so their comparison is at equal capacity.
_base_ = 'mmdet::fcos/fcos_r50-caffe_fpn_gn-head_1x_coco.py'

model = dict(
    data_preprocessor=dict(
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,
        pad_size_divisor=128),
    backbone=dict(
        depth=18,
        base_channels=16,
        frozen_stages=-1,
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=False,
        style='pytorch',
        init_cfg=None),
    neck=dict(in_channels=[16, 32, 64, 128], out_channels=64),
    bbox_head=dict(
        num_classes=10, in_channels=64, feat_channels=64, stacked_convs=2),
    test_cfg=dict(nms_pre=1000, score_thr=0.05, max_per_img=50))
