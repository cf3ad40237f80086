# Baseline "full" for the aerial set: stock DeepLabV3-R50-D8 on 1024x1024.
_base_ = [
    'mmseg::_base_/models/deeplabv3_r50-d8.py',
    '../../_base_/datasets/aerial_seg.py',
    'mmseg::_base_/default_runtime.py',
    'mmseg::_base_/schedules/schedule_40k.py',
]
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    pretrained=None,
    data_preprocessor=dict(size=(1024, 1024)),
    backbone=dict(norm_cfg=norm_cfg),
    decode_head=dict(num_classes=6, norm_cfg=norm_cfg),
    auxiliary_head=dict(num_classes=6, norm_cfg=norm_cfg))
