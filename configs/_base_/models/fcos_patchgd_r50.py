# PatchGlobalDetector around mmdet's FCOS-R50 (caffe, GN head): the stock
# mmdet model with a new `type`. No checkpoint is loaded from the network: to
# start from ImageNet weights you have locally, set
#   model.backbone.init_cfg = dict(type='Pretrained', checkpoint='/path/resnet50_caffe.pth')
_base_ = 'mmdet::fcos/fcos_r50-caffe_fpn_gn-head_1x_coco.py'

custom_imports = dict(
    imports=['mmpatch.models.detector'], allow_failed_imports=False)

model = dict(
    type='PatchGlobalDetector',
    data_preprocessor=dict(pad_size_divisor=128),
    backbone=dict(init_cfg=None),
    patch_cfg=dict(
        patch_size=512,
        inner_iters=4,
        sample_fraction=0.25,
        fill_chunk=4),
    # Z at 4096 px with 256 channels is ~340 MB a level-set; 64 keeps it small
    latent_channels=64,
    global_fusion='concat')

# distributed runs: the PatchGD step, gradients synced once per optimizer step
model_wrapper_cfg = dict(type='PatchGDDistributedDataParallel')
