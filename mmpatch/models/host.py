"""What a task model says about the host library model it extends."""
import copy
from contextlib import contextmanager
from typing import Any, Dict, Iterator, Tuple

import torch


class HostModel:
    """The host library's side of an mmpatch task model.

    A task model inherits ``(HostModel, PatchGDMixin, <host model>)`` and
    names its host: the registry name of the stock model, the constructor
    arguments only the PatchGD model takes, and the host's data
    preprocessor for each of mmpatch's. From these,
    :meth:`host_model_cfg` gives the stock model of a config (the
    benchmarks' baseline).
    """

    #: the host library's model this adapter extends (its registry name)
    host_model_type: str = ''
    #: constructor arguments that only the PatchGD model takes
    patchgd_args: Tuple[str, ...] = ('patch_cfg', 'global_fusion',
                                     'latent_channels')
    #: mmpatch's uint8 data preprocessor -> the host's (a stock model
    #: needs the host's float batch)
    host_preprocessors: Dict[str, str] = {}

    @classmethod
    def host_model_cfg(cls, cfg: dict) -> dict:
        """The host library's stock model for a config of this class: the
        same network without PatchGD."""
        out = {
            k: copy.deepcopy(v)
            for k, v in cfg.items() if k not in cls.patchgd_args
        }
        out['type'] = cls.host_model_type
        pre = out.get('data_preprocessor') or {}
        if pre.get('type') in cls.host_preprocessors:
            out['data_preprocessor'] = dict(
                pre, type=cls.host_preprocessors[pre['type']])
        return out

    @classmethod
    def refuse_host_option(cls, value: Any, why: str) -> None:
        """Stop at build time when a host option this model cannot honour
        is set (``value`` truthy); ``why`` names the option and the fix."""
        if value:
            raise ValueError(f'{cls.__name__} {why}')

    @contextmanager
    def probing(self) -> Iterator[None]:
        """Eval mode without gradients, for shape probes at build time.

        BatchNorm in train mode fails on a 1-sample, 1x1 map; the caller's
        mode is restored afterwards.
        """
        was_training = self.training
        self.eval()
        try:
            with torch.no_grad():
                yield
        finally:
            self.train(was_training)
