"""The three ways :class:`~mmpatch.memory.meter.MemoryMeter` counts bytes.

Each backend measures one block of code: :meth:`start` returns the bytes
live at the start (the baseline), :meth:`read` the ``(peak, current)`` bytes
so far, :meth:`stop` the final ``(peak, current)``, and :meth:`reset`
restarts the measurement from the present and returns the new baseline.

* :class:`CudaBackend`: the caching allocator's counters
  (``torch.cuda.max_memory_allocated``), nesting-safe across meters;
* :class:`DispatchBackend`: a ``TorchDispatchMode`` that counts the bytes
  of live tensor storages on CPU (:class:`~mmpatch.memory.tracker.
  StorageTracker`);
* :class:`ProfilerBackend`: the CPU allocation trace of ``torch.profiler``,
  replayed at :meth:`stop` (heavier; used to validate the dispatch count).
"""
import threading
import weakref
from typing import Any, Dict, Tuple

import torch
from torch.utils._python_dispatch import _get_current_dispatch_mode

from .tensors import tensor_bytes, unique_storages
from .tracker import StorageTracker

METHOD_CUDA = 'cuda_max_memory_allocated'
METHOD_CPU_DISPATCH = 'cpu_dispatch_tracker'
METHOD_CPU_PROFILER = 'cpu_profiler_trace'

_CUDA_LOCK = threading.Lock()
# device index -> the running CUDA backends on it
_ACTIVE_CUDA: Dict[int, 'weakref.WeakSet[CudaBackend]'] = {}


class CudaBackend:
    """``max_memory_allocated`` of one device, safe for nested meters.

    Resetting the device's peak counter would hide the peak reached so far
    from an enclosing meter, so every reset first folds that peak into each
    running backend of the device.
    """

    method = METHOD_CUDA

    def __init__(self, device: torch.device) -> None:
        self.index = device.index
        self.peak = 0

    def _reset_device_peak(self) -> None:
        peak = torch.cuda.max_memory_allocated(self.index)
        for backend in list(_ACTIVE_CUDA.get(self.index, ())):
            backend.peak = max(backend.peak, peak)
        torch.cuda.reset_peak_memory_stats(self.index)

    def start(self, track: Any) -> int:
        with _CUDA_LOCK:
            self._reset_device_peak()
            baseline = torch.cuda.memory_allocated(self.index)
            self.peak = baseline
            _ACTIVE_CUDA.setdefault(self.index, weakref.WeakSet()).add(self)
        return baseline

    def read(self) -> Tuple[int, int]:
        self.peak = max(self.peak, torch.cuda.max_memory_allocated(self.index))
        return self.peak, torch.cuda.memory_allocated(self.index)

    def stop(self) -> Tuple[int, int]:
        with _CUDA_LOCK:
            out = self.read()
            _ACTIVE_CUDA.get(self.index, weakref.WeakSet()).discard(self)
        return out

    def reset(self) -> int:
        with _CUDA_LOCK:
            active = _ACTIVE_CUDA[self.index]
            active.discard(self)
            self._reset_device_peak()
            baseline = torch.cuda.memory_allocated(self.index)
            self.peak = baseline
            active.add(self)
        return baseline


class DispatchBackend:
    """Live CPU storages, counted by a dispatch mode from :meth:`start`.

    Storages already live at the start count only when the objects in
    ``track`` hold them; they form the baseline.
    """

    method = METHOD_CPU_DISPATCH

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.tracker = None

    def start(self, track: Any) -> int:
        tracker = StorageTracker(self.device.type)
        for storage in unique_storages([track], self.device).values():
            tracker.add(storage)
        tracker.__enter__()
        self.tracker = tracker
        return tracker.current

    def read(self) -> Tuple[int, int]:
        self.tracker.drain()
        return self.tracker.peak, self.tracker.current

    def stop(self) -> Tuple[int, int]:
        tracker = self.tracker
        if _get_current_dispatch_mode() is not tracker:
            raise RuntimeError(
                'MemoryMeter.stop(): another TorchDispatchMode entered '
                'after start() is still active; exit it first')
        tracker.__exit__(None, None, None)
        out = self.read()
        tracker.clear()
        self.tracker = None
        return out

    def reset(self) -> int:
        self.tracker.drain()
        self.tracker.peak = self.tracker.current
        return self.tracker.current


class ProfilerBackend:
    """The CPU allocations that ``torch.profiler`` records, replayed at
    :meth:`stop`; results exist only then, and it cannot nest inside
    another profiler session."""

    method = METHOD_CPU_PROFILER

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.profiler = None
        self.baseline = 0

    def start(self, track: Any) -> int:
        from torch.profiler import ProfilerActivity, profile
        if torch._C._autograd._profiler_enabled():
            raise RuntimeError(
                "MemoryMeter(cpu_method='profiler') cannot start while "
                'another torch.profiler session is active (it would '
                "cancel it); use cpu_method='dispatch'")
        self.baseline = tensor_bytes(track, device=self.device)
        self.profiler = profile(activities=[ProfilerActivity.CPU],
                                profile_memory=True)
        self.profiler.__enter__()
        return self.baseline

    def read(self) -> Tuple[int, int]:
        raise RuntimeError("With cpu_method='profiler' the results are "
                           'only available after stop()')

    def stop(self) -> Tuple[int, int]:
        prof, self.profiler = self.profiler, None
        prof.__exit__(None, None, None)
        peak, current = replay_profiler(prof)
        return self.baseline + peak, self.baseline + current

    def reset(self) -> int:
        raise RuntimeError('reset() is not supported while running with '
                           "cpu_method='profiler'; stop() and start()")


def replay_profiler(prof) -> Tuple[int, int]:
    """Return (peak, final) bytes of the CPU blocks allocated while ``prof``
    recorded.

    Frees are matched to allocations by address: a free of a block not
    allocated during the recording is ignored (PyTorch's CPU memory reporter
    may report one with a stale size when the address was used by an
    earlier recording).
    """
    from torch._C._profiler import _EventType
    allocations = []
    # depth-first, in recording order; then a stable sort by time
    stack = list(
        reversed(prof.profiler.kineto_results.experimental_event_tree()))
    while stack:
        event = stack.pop()
        if event.tag == _EventType.Allocation:
            fields = event.extra_fields
            if fields.device.type == 'cpu':
                allocations.append(
                    (event.start_time_ns, fields.ptr, fields.alloc_size))
        stack.extend(reversed(event.children))
    allocations.sort(key=lambda a: a[0])
    live: Dict[int, int] = {}
    current = peak = 0
    for _, ptr, size in allocations:
        if size > 0:
            live[ptr] = size
            current += size
            if current > peak:
                peak = current
        else:
            current -= live.pop(ptr, 0)
    return peak, current
