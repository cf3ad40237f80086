"""Bytes of the tensor storages that objects hold (model, optimizer, batch).

A walker over the containers mmpatch meets: modules (parameters, their
gradients, buffers), optimizers (their state), mmengine ``OptimWrapper`` s,
data elements and plain Python containers. Every storage is counted once.
"""
import collections
from typing import Any, Dict, Iterable, Iterator, List, Optional, Union

import torch

__all__ = ['tensor_bytes', 'iter_tensors', 'unique_storages', 'storage_of',
           'DeviceType']

DeviceType = Union[str, int, torch.device, None]

def storage_of(tensor: torch.Tensor) -> Optional[torch.UntypedStorage]:
    """Return the untyped storage of ``tensor``, or None when it has none
    that can be read (sparse, mkldnn/opaque, some subclasses)."""
    try:
        return tensor.untyped_storage()
    except (NotImplementedError, RuntimeError, TypeError):
        return None


def _data_element_type() -> Optional[type]:
    """mmengine's ``BaseDataElement`` if mmengine is installed."""
    try:
        from mmengine.structures import BaseDataElement
    except ImportError:  # pragma: no cover - mmengine is optional here
        return None
    return BaseDataElement


def iter_tensors(objs: Iterable[Any]) -> Iterator[torch.Tensor]:
    """Yield the tensors held by ``objs`` (see :func:`tensor_bytes`)."""
    data_element = _data_element_type()
    seen_containers = set()
    stack: List[Any] = list(reversed(list(objs)))
    while stack:
        obj = stack.pop()
        if obj is None:
            continue
        if isinstance(obj, torch.Tensor):
            yield obj
            # ``.grad`` of a non-leaf warns and is always None.
            if obj.is_leaf and obj.grad is not None:
                yield obj.grad
            continue
        if id(obj) in seen_containers:
            continue
        if isinstance(obj, torch.nn.Module):
            seen_containers.add(id(obj))
            stack.extend(obj.parameters())
            stack.extend(obj.buffers())
        elif isinstance(obj, torch.optim.Optimizer):
            seen_containers.add(id(obj))
            stack.extend(obj.state.values())
        elif isinstance(getattr(obj, 'optimizer', None),
                        torch.optim.Optimizer):
            # mmengine ``OptimWrapper`` and alike.
            seen_containers.add(id(obj))
            stack.append(obj.optimizer)
        elif data_element is not None and isinstance(obj, data_element):
            # mmengine data samples (InstanceData, PixelData, DetDataSample)
            seen_containers.add(id(obj))
            stack.extend(obj.values())
        elif isinstance(obj, collections.abc.Mapping):
            seen_containers.add(id(obj))
            stack.extend(obj.values())
        elif isinstance(obj, (list, tuple, set, frozenset)):
            seen_containers.add(id(obj))
            stack.extend(obj)
        # Anything else (numbers, strings, arrays...) holds no tensor memory
        # we can see and is ignored.


def unique_storages(
        objs: Iterable[Any],
        device: DeviceType = None) -> Dict[int, torch.UntypedStorage]:
    """Map storage id (``_cdata``) -> storage for the tensors in ``objs``,
    optionally only those on ``device`` (an index-less device matches every
    index of its type)."""
    dev = None if device is None else torch.device(device)
    storages: Dict[int, torch.UntypedStorage] = {}
    for tensor in iter_tensors(objs):
        if dev is not None:
            tdev = tensor.device
            if tdev.type != dev.type or (dev.index is not None
                                         and tdev.index != dev.index):
                continue
        storage = storage_of(tensor)
        if storage is not None:
            storages.setdefault(storage._cdata, storage)
    return storages


def tensor_bytes(*objs: Any, device: DeviceType = None) -> int:
    """Bytes of the unique tensor storages held by ``objs``.

    Every storage is counted once, whole, however many tensors or views
    share it (a view of 10 elements of a 1 MiB tensor counts 1 MiB, once).

    Args:
        *objs: Any mix of tensors (a leaf tensor's ``.grad`` is included),
            ``nn.Module`` (parameters, their ``.grad``, buffers),
            ``torch.optim.Optimizer`` (its ``state``: e.g. Adam's
            ``exp_avg``, ``exp_avg_sq`` and ``step``; not the parameters,
            pass the model for those), objects with an ``optimizer``
            attribute (mmengine ``OptimWrapper``), mmengine data elements
            (``InstanceData``, data samples: their data fields), and lists,
            tuples, sets and dicts nesting them. Other objects are
            ignored.
        device (str | int | torch.device, optional): Only count storages on
            this device (``'cuda'`` matches every CUDA device). Defaults to
            None (all devices).

    Returns:
        int: The number of bytes.

    Note:
        Sparse, mkldnn (opaque) and other tensors without a readable
        storage are not counted.
    """
    return sum(s.nbytes() for s in unique_storages(objs, device).values())
