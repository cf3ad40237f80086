# PatchGlobalSegmentor over mmseg's U-Net (unet-s5-d16): the stock model of
# ./unet_plain.py (plain BN, since one process needs no SyncBN; no auxiliary
# head; whole-image inference; the paper's Dice + CE losses) with a new
# `type` and the PatchGD settings; model only.
_base_ = './unet_plain.py'

custom_imports = dict(
    imports=['mmpatch.models.segmentor'], allow_failed_imports=False)

model = dict(
    type='PatchGlobalSegmentor',
    # docs/method.md defaults, with the paper's 128 px patches
    patch_cfg=dict(
        patch_size=128,
        inner_iters=4,
        sample_fraction=0.25,
        sampling='disjoint',
        keep_updates=True,
        fill_chunk=16,
        fill_bn_mode='eval'),
    latent_channels=8,
    global_fusion='concat',
    num_fusion_convs=0)
