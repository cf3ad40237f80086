# The narrow FCOS of ./fcos_mini.py with its backbone started from the
# locally pretrained digit ResNet (`make pretrained`: tools/pretrain_digits.py,
# whose BACKBONE is this exact network): the network of every method of the
# UltraDigits-scales comparison (configs/det/ultradigits_scales/). Model
# only.
#
# With FCOS's own improvements (mmdet's
# fcos_r50-caffe_fpn_gn-head-center-normbbox-centeronreg-giou: centre
# sampling, box targets in units of the level's stride, centerness on the
# regression branch, GIoU loss). Issue #30: without them full-image FCOS
# reached validation AP 0.028 after 3 epochs of UltraDigits-scales, with
# them 0.33 (same data, seed and schedule, `python
# tools/analysis_tools/det_comparison.py --methods full --seeds 0`; the raw
# box targets of up to ~600 px train far more slowly than
# stride-normalised ones).
_base_ = './fcos_mini.py'
pretrained = 'checkpoints/resnet18n_digits.pth'
model = dict(
    backbone=dict(init_cfg=dict(_delete_=True, type='Pretrained',
                                checkpoint=pretrained, prefix='backbone')),
    bbox_head=dict(
        norm_on_bbox=True,
        centerness_on_reg=True,
        center_sampling=True,
        center_sample_radius=1.5,
        loss_bbox=dict(type='GIoULoss', loss_weight=1.0)),
    # up to ~45 digits a canvas: keep 100 boxes, in every method alike
    test_cfg=dict(max_per_img=100))
