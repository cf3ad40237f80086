"""The synthetic batch a measurement steps on, packed as the data pipeline
packs it."""
import os.path as osp
from typing import Optional


def make_batch(task: str, size: int, input_size: int, batch_size: int,
               num_classes: int, seed: int = 0,
               mapped_dir: Optional[str] = None) -> dict:
    """A synthetic batch as the data pipeline packs it: uint8 ``(3, h, w)``
    images and the task's data samples. ``size`` is the original side,
    ``input_size`` the side fed to the model (smaller when downsampled).

    With ``mapped_dir``, as ``LoadLazyImage`` packs it instead: each image
    is saved there as an ``(h, w, 3)`` ``.npy`` file, named by the data
    sample's ``lazy_image``, and the batch holds ``(0, h, w)`` stand-ins.
    """
    import numpy as np
    import torch
    gen = torch.Generator().manual_seed(seed)
    scale = input_size / size
    inputs, samples = [], []
    for i in range(batch_size):
        img = torch.randint(0, 256, (3, input_size, input_size),
                            dtype=torch.uint8, generator=gen)
        lazy = {}
        if mapped_dir is not None:
            lazy['lazy_image'] = osp.join(mapped_dir, f'image_{i}.npy')
            np.save(lazy['lazy_image'], img.permute(1, 2, 0).numpy())
            img = img.new_empty((0, input_size, input_size))
        meta = dict(
            img_path=f'synthetic_{size}_{i}.png',
            img_id=i,
            img_shape=(input_size, input_size),
            ori_shape=(size, size),
            scale_factor=(scale, scale),
            flip=False,
            flip_direction=None,
            **lazy)
        if task == 'det':
            from mmdet.structures import DetDataSample
            from mmengine.structures import InstanceData
            n = 5
            lo, hi = max(8.0, size / 64), max(16.0, size / 8)
            wh = lo + torch.rand(n, 2, generator=gen) * (hi - lo)
            xy = torch.rand(n, 2, generator=gen) * (size - wh)
            boxes = torch.cat([xy, xy + wh], 1) * scale
            sample = DetDataSample(metainfo=meta)
            sample.gt_instances = InstanceData(
                bboxes=boxes,
                labels=torch.randint(0, num_classes, (n, ), generator=gen))
            sample.ignored_instances = InstanceData(
                bboxes=torch.zeros(0, 4), labels=torch.zeros(0).long())
        elif task == 'seg':
            from mmengine.structures import PixelData
            from mmseg.structures import SegDataSample
            meta.update(pad_shape=(input_size, input_size),
                        reduce_zero_label=False)
            cells = max(1, input_size // 32)
            mask = torch.randint(0, num_classes, (cells, cells),
                                 generator=gen)
            mask = mask.repeat_interleave(32, 0).repeat_interleave(32, 1)
            mask = mask[:input_size, :input_size]
            if mask.shape[0] < input_size:
                mask = torch.nn.functional.pad(
                    mask, (0, input_size - mask.shape[1], 0,
                           input_size - mask.shape[0]))
            sample = SegDataSample(metainfo=meta)
            sample.gt_sem_seg = PixelData(data=mask[None].long())
        else:
            from mmpretrain.structures import DataSample
            sample = DataSample(metainfo=meta).set_gt_label(
                int(torch.randint(0, num_classes, (1, ), generator=gen)))
        inputs.append(img)
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)
