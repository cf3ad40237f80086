"""BatchNorm of θ1 during a PatchGD step: which statistics each pass uses,
and the snapshot that undoes a failed step."""
from contextlib import contextmanager
from typing import Callable, Dict, Iterable, Iterator, List

from torch import Tensor, nn
from torch.nn.modules.batchnorm import _BatchNorm


def inner_modules(modules: Iterable[nn.Module],
                  keep: Callable[[nn.Module], bool]) -> List[nn.Module]:
    """Every module inside ``modules`` (themselves included) for which
    ``keep`` holds, each once, in ``modules()`` order."""
    seen, out = set(), []
    for module in modules:
        for m in module.modules():
            if keep(m) and id(m) not in seen:
                seen.add(id(m))
                out.append(m)
    return out


def batch_norms(modules: Iterable[nn.Module]) -> List[_BatchNorm]:
    """Every BatchNorm layer inside ``modules``, each once."""
    return inner_modules(modules, lambda m: isinstance(m, _BatchNorm))


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


@contextmanager
def frozen_running_stats(modules: Iterable[nn.Module]) -> Iterator[None]:
    """BatchNorm layers of ``modules`` in train mode keep using batch
    statistics but leave their running statistics as they are.

    A second pass over patches that a first pass already counted (the
    chunked backward re-encodes what the fill or a no-grad pass encoded)
    must not move the running statistics again. The momentum is set to 0
    (running values are then rewritten unchanged, inside the op, so no
    tensor saved for backward is touched afterwards) and the batch counter
    is put back.
    """
    layers = [m for m in batch_norms(modules)
              if m.training and m.track_running_stats]
    saved = [(m.momentum, m.num_batches_tracked.clone()) for m in layers]
    for m in layers:
        m.momentum = 0.0
    try:
        yield
    finally:
        for m, (momentum, count) in zip(layers, saved):
            m.momentum = momentum
            m.num_batches_tracked.copy_(count)


def has_train_batch_norm(modules: Iterable[nn.Module]) -> bool:
    """Whether any BatchNorm layer of ``modules`` uses batch statistics."""
    return any(m.training for m in batch_norms(modules))
