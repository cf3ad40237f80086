# PatchGlobalDetector around mmdet's FCOS-R50 (caffe, GN head): the stock
# model of ./fcos_r50.py with a new `type` and the PatchGD settings; model
# only. No checkpoint is loaded from the network (see ./fcos_r50.py for
# ImageNet weights you have locally).
_base_ = './fcos_r50.py'

custom_imports = dict(
    imports=['mmpatch.models.detector'], allow_failed_imports=False)

model = dict(
    type='PatchGlobalDetector',
    # the batch stays uint8 and each patch is normalised when θ1 reads it:
    # 1 byte per pixel and channel held instead of 4 + 1 (docs/memory.md)
    data_preprocessor=dict(type='PatchDetDataPreprocessor',
                           pad_size_divisor=128),
    # mmcv's activation checkpointing inside each bottleneck
    backbone=dict(init_cfg=None, with_cp=True),
    patch_cfg=dict(
        patch_size=512,
        inner_iters=4,
        sample_fraction=0.25,
        fill_chunk=2,
        # θ1 of the sampled and global patches recomputed in the backward
        with_cp=True),
    # the head's 256-channel GN towers run per patch (θ1), so no
    # whole-image map is 256 channels wide; Z holds a cls and a reg map per
    # level, 16 channels each (docs/memory.md)
    towers_in_patch=True,
    # FCOS's targets assigned a block of points at a time: a 4096 px image
    # has 349,184 points, and SODA-D images hundreds of objects, which
    # FCOSHead's assignment holds as (points, objects, 4) tensors
    # (mmpatch/models/fcos_heads.py); the same targets
    bbox_head=dict(type='ChunkedTargetFCOSHead'),
    latent_channels=16,
    global_fusion='concat')
