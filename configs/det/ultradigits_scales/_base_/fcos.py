# The FCOS of every method of the UltraDigits-scales comparison: the
# narrow FCOS of configs/_base_/models/fcos_mini.py, its
# backbone started from the locally pretrained digit ResNet
# (`make pretrained`: tools/pretrain_digits.py, whose BACKBONE is this exact
# network), whole canvases at their stored size, batch 1.
_base_ = [
    '../../../_base_/models/fcos_mini.py',
    './dataset.py',
    'mmdet::_base_/default_runtime.py',
    './schedule.py',
]
custom_imports = dict(
    imports=['mmpatch', 'mmpatch.datasets.lazy_image',
             'mmpatch.evaluation.size_buckets'],
    allow_failed_imports=False)
pretrained = 'checkpoints/resnet18n_digits.pth'
model = dict(
    backbone=dict(init_cfg=dict(_delete_=True, type='Pretrained',
                                checkpoint=pretrained, prefix='backbone')),
    # up to ~20 digits a canvas: keep 100 boxes, in every method alike
    test_cfg=dict(max_per_img=100))
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=10, log_metric_by_epoch=False),
    checkpoint=dict(type='CheckpointHook', by_epoch=True, interval=1,
                    max_keep_ckpts=-1))
log_processor = dict(by_epoch=True)
