"""BatchNorm of θ1 during a PatchGD step: which statistics each pass uses,
and the snapshot that undoes a failed step."""
from contextlib import contextmanager
from typing import Dict, Iterable, Iterator, List

from torch import Tensor, nn
from torch.nn.modules.batchnorm import _BatchNorm


def batch_norms(modules: Iterable[nn.Module]) -> List[_BatchNorm]:
    """Every BatchNorm layer inside ``modules``, each once."""
    seen, out = set(), []
    for module in modules:
        for m in module.modules():
            if isinstance(m, _BatchNorm) and id(m) not in seen:
                seen.add(id(m))
                out.append(m)
    return out


@contextmanager
def eval_batch_norms(modules: Iterable[nn.Module]) -> Iterator[None]:
    """BatchNorm layers of ``modules`` that are in train mode switch to eval
    mode (running statistics, not updated) for the block."""
    switched = [m for m in batch_norms(modules) if m.training]
    for m in switched:
        m.eval()
    try:
        yield
    finally:
        for m in switched:
            m.train()


def norm_state(model: nn.Module) -> Dict[str, Tensor]:
    """Copies of every BatchNorm buffer of ``model`` (running mean and
    variance, batches tracked), by state-dict name."""
    return {
        f'{name}.{key}': b.detach().clone()
        for name, m in model.named_modules() if isinstance(m, _BatchNorm)
        for key, b in m.named_buffers(recurse=False)
    }


def restore_norm_state(model: nn.Module, state: Dict[str, Tensor]) -> None:
    """Write back what :func:`norm_state` copied."""
    buffers = dict(model.named_buffers())
    for name, value in state.items():
        buffers[name].copy_(value)
