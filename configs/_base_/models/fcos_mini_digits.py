# The narrow FCOS of ./fcos_mini.py with its backbone started from the
# locally pretrained digit ResNet (`make pretrained`: tools/pretrain_digits.py,
# whose BACKBONE is this exact network): the network of every method of the
# UltraDigits-scales comparison (configs/det/ultradigits_scales/). Model
# only.
_base_ = './fcos_mini.py'
pretrained = 'checkpoints/resnet18n_digits.pth'
model = dict(
    backbone=dict(init_cfg=dict(_delete_=True, type='Pretrained',
                                checkpoint=pretrained, prefix='backbone')),
    # up to ~20 digits a canvas: keep 100 boxes, in every method alike
    test_cfg=dict(max_per_img=100))
