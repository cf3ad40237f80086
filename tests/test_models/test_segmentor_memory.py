"""Bounded memory: a PatchGD step at 2048^2 against the full-image step."""
import copy

import torch

from mmpatch.memory import MemoryMeter
from tests.test_models.test_segmentor import build, samples_for, unet_cfg


def _step_peak(model, data):
    from mmengine.optim import OptimWrapper
    optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.01))
    with MemoryMeter('cpu', track=[model, optim, data]) as meter:
        model.train_step(copy.deepcopy(data), optim)
    return meter.peak_bytes


def _width(cfg, channels=8):
    """unet_cfg() at a realistic width (unet-s5-d16 has 64 channels)."""
    cfg['backbone']['base_channels'] = channels
    cfg['decode_head'].update(in_channels=channels, channels=channels)
    return cfg


def test_patchgd_step_far_below_full_image_at_2048(seg_scope):
    size = 2048
    data = dict(inputs=[torch.randint(0, 255, (3, size, size),
                                      dtype=torch.uint8)],
                data_samples=samples_for([(size, size)], (size, size)))
    ours = build(_width(unet_cfg(patch_cfg=dict(
        patch_size=128, inner_iters=1, patches_per_iter=4, fill_chunk=8))))
    # the same θ1 (U-Net + FCN head) as a stock mmseg EncoderDecoder
    full_cfg = _width(unet_cfg())
    for key in ('patch_cfg', 'latent_channels'):
        full_cfg.pop(key)
    full_cfg['type'] = 'EncoderDecoder'
    full = build(full_cfg)
    peak_ours = _step_peak(ours, data)
    peak_full = _step_peak(full, data)
    # Z (3 channels) and the full-resolution logits and loss remain; the
    # activations of 256 patches do not
    assert peak_ours < peak_full / 3, (peak_ours / 2**20, peak_full / 2**20)


def test_mapped_image_takes_exactly_the_image_off_the_peak(seg_scope,
                                                           tmp_path):
    """With the image memory-mapped (LoadLazyImage's batch) the measured
    training-step peak is lower by exactly the decoded image's 3 * H * W
    bytes, and by nothing else: the step itself is unchanged."""
    import numpy as np
    size = 512
    img = torch.randint(0, 255, (3, size, size), dtype=torch.uint8)
    data = dict(inputs=[img],
                data_samples=samples_for([(size, size)], (size, size)))
    np.save(tmp_path / 'image.npy', img.permute(1, 2, 0).numpy())
    mapped = dict(inputs=[img.new_empty((0, size, size))],
                  data_samples=copy.deepcopy(data['data_samples']))
    mapped['data_samples'][0].set_metainfo(
        dict(lazy_image=str(tmp_path / 'image.npy')))
    cfg = _width(unet_cfg(patch_cfg=dict(
        patch_size=128, inner_iters=1, patches_per_iter=4, fill_chunk=8)))
    cfg['data_preprocessor'] = dict(
        type='PatchSegDataPreProcessor', mean=[0., 0., 0.],
        std=[1., 1., 1.], size_divisor=128)
    in_memory = _step_peak(build(copy.deepcopy(cfg)), data)
    from_disk = _step_peak(build(copy.deepcopy(cfg)), mapped)
    assert in_memory - from_disk == 3 * size * size
