"""CPU peak memory: a dispatch mode that counts live tensor storages."""
import collections
import weakref
from typing import Any, Dict, List

import torch
from torch.utils._python_dispatch import TorchDispatchMode

from .tensors import storage_of

__all__ = ['StorageTracker']

def _flat_tensors(obj: Any, out: List[torch.Tensor]) -> List[torch.Tensor]:
    """Append the tensors in ``obj`` (operator arguments or results:
    tensors nested in lists, tuples and dicts) to ``out``; cheaper than a
    general pytree walk."""
    if isinstance(obj, torch.Tensor):
        out.append(obj)
    elif isinstance(obj, (list, tuple)):
        for item in obj:
            _flat_tensors(item, out)
    elif isinstance(obj, dict):
        for item in obj.values():
            _flat_tensors(item, out)
    return out


# Ops whose output aliases an input that was created outside the dispatcher
# from Python data (torch.tensor, torch.as_tensor, torch.from_numpy): the
# output is a fresh tensor although it is also an input.
_FRESH_OPS = frozenset(
    getattr(torch.ops.aten, name).default
    for name in ('lift_fresh', 'lift_fresh_copy')
    if hasattr(torch.ops.aten, name))


class StorageTracker(TorchDispatchMode):
    """Dispatch mode that keeps a running count of live storage bytes.

    Every tensor output of every operator on ``device_type`` is inspected.
    A storage seen for the first time, and not shared with an input of the
    op, is a new allocation: its bytes are added and a weakref callback
    subtracts them when the storage dies. A storage already known is
    re-measured (``resize_``, ``out=``); a storage shared with an input but
    unknown (a view or in-place result of a tensor that existed before the
    tracker started) is ignored.

    Weakref callbacks may run on any thread and in the middle of the
    bookkeeping (garbage collection), so they only queue the death; the
    queue is drained on the tracking thread before each count.
    """

    def __init__(self, device_type: str = 'cpu') -> None:
        super().__init__()
        self.device_type = device_type
        # storage id -> [nbytes, weakref to the storage]
        self.live: Dict[int, list] = {}
        self.current = 0
        self.peak = 0
        self._dead: collections.deque = collections.deque()

    # -- bookkeeping -------------------------------------------------------
    def _on_death(self, ref: weakref.ref, key: int) -> None:
        self._dead.append((key, ref))

    def drain(self) -> None:
        """Subtract the storages that died since the last call."""
        dead = self._dead
        live = self.live
        while dead:
            key, ref = dead.popleft()
            entry = live.get(key)
            if entry is not None and entry[1] is ref:
                del live[key]
                self.current -= entry[0]

    def add(self, storage: torch.UntypedStorage) -> None:
        """Count ``storage`` as live (no-op when it is already counted)."""
        key = storage._cdata
        entry = self.live.get(key)
        if entry is not None:
            if entry[1]() is storage:
                return
            # A dead storage whose death is not reported yet had this id.
            self.current -= entry[0]
        nbytes = storage.nbytes()
        ref = weakref.ref(storage,
                          lambda r, k=key, cb=self._on_death: cb(r, k))
        self.live[key] = [nbytes, ref]
        self.current += nbytes
        if self.current > self.peak:
            self.peak = self.current

    def clear(self) -> None:
        """Forget every storage (their death is no longer reported)."""
        self.live.clear()
        self._dead.clear()

    # -- dispatch ----------------------------------------------------------
    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        self.drain()
        input_keys = None
        live = self.live
        for tensor in ([out] if isinstance(out, torch.Tensor) else
                       _flat_tensors(out, [])):
            if tensor.device.type != self.device_type:
                continue
            storage = storage_of(tensor)
            if storage is None:
                continue
            key = storage._cdata
            entry = live.get(key)
            if entry is not None and entry[1]() is storage:
                nbytes = storage.nbytes()
                if nbytes != entry[0]:  # resized in place
                    self.current += nbytes - entry[0]
                    entry[0] = nbytes
                    if self.current > self.peak:
                        self.peak = self.current
                continue
            if storage.nbytes() == 0:
                continue
            if func not in _FRESH_OPS:
                if input_keys is None:
                    input_keys = set()
                    for arg in _flat_tensors((args, kwargs), []):
                        arg_storage = storage_of(arg)
                        if arg_storage is not None:
                            input_keys.add(arg_storage._cdata)
                if key in input_keys:
                    # An alias of a storage that predates the tracker.
                    continue
            self.add(storage)
        return out
