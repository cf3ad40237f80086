# A narrow FCOS (ResNet-18 at a quarter width, 64-channel FPN and GN head)
# that trains on a 2-core CPU in minutes; otherwise mmdet's FCOS as in
# ./fcos_r50.py (mmdet::fcos/fcos_r50-caffe_fpn_gn-head_1x_coco.py), whose
# losses, strides and test settings it inherits. The same network serves
# PatchGD and the stock-FCOS baselines, so they compare at equal capacity.
# Model only, so it composes with dataset, runtime and schedule bases.
_base_ = './fcos_r50.py'
model = dict(
    # ImageNet statistics on RGB (pytorch style, not caffe)
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
        style='pytorch'),
    neck=dict(in_channels=[16, 32, 64, 128], out_channels=64),
    bbox_head=dict(
        num_classes=10, in_channels=64, stacked_convs=2, feat_channels=64),
    test_cfg=dict(max_per_img=50))
