# PatchGlobalSegmentor (DeepLabV3, ResNet-50-D8) on 1024x1024 aerial tiles,
# 128 px patches (8x8 grid), as in the paper.
#   python tools/dataset_converters/dubai_aerial.py /path/to/dubai data/aerial
#   python tools/train.py configs/seg/deeplabv3_patchgd_aerial.py
_base_ = [
    '../_base_/models/deeplabv3_patchgd.py',
    '../_base_/datasets/aerial_seg.py',
    'mmseg::_base_/default_runtime.py',
    '../_base_/patchgd_runtime.py',
    'mmseg::_base_/schedules/schedule_40k.py',
]
model = dict(
    # the batch stays uint8; each patch is normalised when θ1 reads it
    data_preprocessor=dict(type='PatchSegDataPreProcessor', size=(1024, 1024)),
    decode_head=dict(num_classes=6),
    patch_cfg=dict(patch_size=128, inner_iters=4, sample_fraction=0.25))
