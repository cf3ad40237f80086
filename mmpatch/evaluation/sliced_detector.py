"""Sliced inference as a model: any stock mmdet detector, trained as it is
and predicted slice by slice, registered in mmdet's ``MODELS``.

In the spirit of mmdet's test-time-augmentation models (``DetTTAModel``
wraps a ``module``), ``SlicedDetector`` wraps a ``detector``. Training
steps are the detector's own (e.g. on random crops); every prediction, so
mmengine's validation and test loops, ``tools/test.py`` and the
inferencers (``DetInferencer``), runs :func:`~mmpatch.evaluation.sliced.
predict_sliced` on each whole image. "Train on crops, validate sliced on
whole images" is then one config::

    custom_imports = dict(imports=['mmpatch.evaluation.sliced_detector'],
                          allow_failed_imports=False)
    model = dict(
        type='SlicedDetector',
        detector=dict(type='FCOS', ...),     # the stock detector
        slice_size=512, overlap=0.25,
        batch_size=4,                        # slices per forward
        merge='nms',                         # or 'greedynmm' (SAHI's)
        whole_image=False,                   # SAHI's standard prediction
        max_per_img=None)                    # None: the detector's cap

The test pipeline must keep images at their stored size (the slices are cut
from the pixels it packs). Checkpoints hold the detector's weights under
``detector.``.
"""
from typing import Dict, List, Optional, Union

from mmdet.registry import MODELS
from mmengine.model import BaseModel
from torch import Tensor

from .sliced import MERGES, predict_sliced


@MODELS.register_module()
class SlicedDetector(BaseModel):
    """A detector whose predictions are made on overlapping slices.

    Args:
        detector (dict): the stock mmdet detector's config.
        slice_size (int, optional): slice side in pixels; None predicts the
            whole image as one slice.
        overlap (float): overlap ratio of neighbouring slices (SAHI's).
        batch_size (int): slices per forward of the detector.
        merge (str): ``'nms'`` (mmdet's class-aware NMS with the detector's
            ``test_cfg.nms``) or ``'greedynmm'`` (SAHI's default merge).
        whole_image (bool): also predict the whole image and merge its
            boxes (SAHI's ``perform_standard_pred``).
        match_metric (str): ``'greedynmm'``'s overlap, ``'IOS'`` or
            ``'IOU'``.
        match_threshold (float): ``'greedynmm'``'s overlap threshold.
        max_per_img (int, optional): boxes kept after the merge; None: the
            detector's ``test_cfg.max_per_img``.
        init_cfg (dict, optional): mmengine's.
    """

    def __init__(self,
                 detector: dict,
                 slice_size: Optional[int] = 512,
                 overlap: float = 0.25,
                 batch_size: int = 4,
                 merge: str = 'nms',
                 whole_image: bool = False,
                 match_metric: str = 'IOS',
                 match_threshold: float = 0.5,
                 max_per_img: Optional[int] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        # BaseModel made a preprocessor of its own: the detector's serves
        # (the data_preprocessor property), for training and for slices
        del self._modules['data_preprocessor']
        if merge not in MERGES:
            raise ValueError(f'SlicedDetector: merge must be one of '
                             f'{MERGES}, got {merge!r}')
        if not 0 <= overlap < 1 or batch_size < 1 or (
                slice_size is not None and slice_size < 1):
            raise ValueError(
                'SlicedDetector needs 0 <= overlap < 1, batch_size >= 1 and '
                f'slice_size >= 1 or None; got overlap={overlap!r}, '
                f'batch_size={batch_size!r}, slice_size={slice_size!r}')
        self.detector = MODELS.build(detector)
        self.slice_options = dict(
            slice_size=slice_size, overlap=overlap, batch_size=batch_size,
            merge=merge, whole_image=whole_image, match_metric=match_metric,
            match_threshold=match_threshold, max_per_img=max_per_img)

    @property
    def data_preprocessor(self):
        """The detector's (a wrapper such as mmengine's DDP preprocesses
        training batches with it)."""
        return self.detector.data_preprocessor

    def train_step(self, data: Union[dict, tuple, list],
                   optim_wrapper) -> Dict[str, Tensor]:
        """The detector's own training step."""
        return self.detector.train_step(data, optim_wrapper)

    def val_step(self, data: Union[dict, tuple, list]) -> list:
        return self.test_step(data)

    def test_step(self, data: Union[dict, tuple, list]) -> list:
        """Each image of the batch predicted slice by slice; the inputs are
        the dataloader's (unnormalised, at their stored size)."""
        self.detector.eval()
        return [
            predict_sliced(self.detector, inputs, sample,
                           **self.slice_options)
            for inputs, sample in zip(data['inputs'], data['data_samples'])
        ]

    def forward(self,
                inputs: Tensor,
                data_samples: Optional[List] = None,
                mode: str = 'tensor'):
        """The detector's ``forward`` (``loss`` / ``tensor`` on what its
        preprocessor made); ``predict`` is sliced through
        :meth:`test_step`."""
        if mode == 'predict':
            raise RuntimeError(
                "SlicedDetector predicts through test_step (the dataloader's "
                "images, sliced); forward(mode='predict') would see a "
                'preprocessed batch')
        return self.detector(inputs, data_samples, mode)
