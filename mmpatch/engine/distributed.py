"""Distributed data parallel for PatchGD models through mmengine's runner."""
from typing import Any, Dict

import torch
from mmengine.dist import get_world_size
from mmengine.model import MMDistributedDataParallel
from mmengine.registry import MODEL_WRAPPERS

from mmpatch.patchgd import PatchGDMixin


@MODEL_WRAPPERS.register_module()
class PatchGDDistributedDataParallel(MMDistributedDataParallel):
    """DDP whose ``train_step`` is the wrapped model's PatchGD step.

    mmengine's ``MMDistributedDataParallel.train_step`` runs one
    ``forward(mode='loss')`` through DDP, which for an mmpatch model would be
    the full computation over every patch (the model refuses it). This
    wrapper calls the module's own :meth:`PatchGDMixin.train_step` instead;
    the inner loop never goes through DDP's forward, so DDP's reducer stays
    idle and the wrapper averages the gradients itself
    (:meth:`sync_gradients`), once per optimizer step, not once per inner
    backward.

    DDP still broadcasts the initial weights from rank 0. BatchNorm is
    per-rank unless the config uses ``SyncBN``. Select it in a config with
    ``model_wrapper_cfg = dict(type='PatchGDDistributedDataParallel')``
    (``configs/_base_/patchgd_runtime.py`` does).
    """

    def __init__(self, module: torch.nn.Module, **kwargs) -> None:
        if not isinstance(module, PatchGDMixin):
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

    def train_step(self, data: Any, optim_wrapper) -> Dict[str, torch.Tensor]:
        return self.module.train_step(data, optim_wrapper,
                                      grad_sync=self.sync_gradients)

    def sync_gradients(self) -> None:
        """Average the module's gradients over ranks (one all-reduce of one
        flat buffer); called by the step just before each optimizer step.
        """
        world = get_world_size()
        if world == 1:
            return
        import torch.distributed as dist
        from torch._utils import (_flatten_dense_tensors,
                                  _unflatten_dense_tensors)
        params = [p for p in self.module.parameters() if p.requires_grad]
        for p in params:  # every rank must reduce the same tensors
            if p.grad is None:
                p.grad = torch.zeros_like(p)
        grads = [p.grad for p in params]
        flat = _flatten_dense_tensors(grads)
        dist.all_reduce(flat)
        flat /= world
        for g, synced in zip(grads, _unflatten_dense_tensors(flat, grads)):
            g.copy_(synced)
