"""Distributed data parallel for PatchGD models through mmengine's runner."""
from typing import Any, Dict

import torch
from mmengine.model import MMDistributedDataParallel
from mmengine.registry import MODEL_WRAPPERS


@MODEL_WRAPPERS.register_module()
class PatchGDDistributedDataParallel(MMDistributedDataParallel):
    """DDP whose ``train_step`` is the wrapped model's PatchGD step.

    mmengine's ``MMDistributedDataParallel.train_step`` runs one
    ``forward(mode='loss')`` through DDP, which for an mmpatch model would be
    the full computation over every patch. This wrapper calls the module's
    own :meth:`PatchGDMixin.train_step` instead; the inner loop never goes
    through DDP's forward, so DDP's reducer stays idle and the module
    averages the gradients itself, once per optimizer step
    (:meth:`PatchGDMixin.sync_gradients`), not once per inner backward.

    DDP still broadcasts the initial weights from rank 0. BatchNorm is
    per-rank unless the config uses ``SyncBN``. Select it in a config with
    ``model_wrapper_cfg = dict(type='PatchGDDistributedDataParallel')``.
    """

    def __init__(self, module: torch.nn.Module, **kwargs) -> None:
        if not hasattr(module, 'patch_cfg'):
            raise TypeError(
                'PatchGDDistributedDataParallel wraps mmpatch models only, '
                f'got {type(module).__name__}; use mmengine\'s '
                'MMDistributedDataParallel for other models')
        devices = {p.device.type for p in module.parameters()}
        if devices == {'cpu'}:
            # mmengine's Runner.wrap_model passes device_ids=[LOCAL_RANK],
            # which torch's DDP refuses for a CPU module (gloo training)
            kwargs.pop('device_ids', None)
            kwargs.pop('output_device', None)
        super().__init__(module=module, **kwargs)
        module.patchgd_distributed = True

    def train_step(self, data: Any, optim_wrapper) -> Dict[str, torch.Tensor]:
        return self.module.train_step(data, optim_wrapper)
