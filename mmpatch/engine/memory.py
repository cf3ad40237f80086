# Copyright (c) mmpatch contributors. All rights reserved.
"""Peak tensor-memory measurement shared by the hook, benchmarks and tests.

The single entry point is :class:`MemoryMeter`. It measures the peak number
of bytes held by live tensors while it runs:

* on CUDA with the caching allocator's counters
  (``torch.cuda.max_memory_allocated``);
* on CPU by counting the bytes of live tensor *storages* with a
  ``TorchDispatchMode`` that sees every operator output (the default,
  ``cpu_method='dispatch'``), or from the allocation trace of
  ``torch.profiler`` (``cpu_method='profiler'``, heavier, used to validate).

Process RSS is never used. See ``docs/memory.md`` for what is and is not
counted.
"""
import collections
import math
import re
import threading
import weakref
from decimal import Decimal, InvalidOperation
from typing import (Any, Dict, Iterable, Iterator, List, Optional, Tuple,
                    Union)

import torch
from torch.utils._python_dispatch import (TorchDispatchMode,
                                          _get_current_dispatch_mode)

__all__ = ['MemoryMeter', 'tensor_bytes', 'parse_bytes', 'format_bytes']

DeviceType = Union[str, int, torch.device, None]

METHOD_CUDA = 'cuda_max_memory_allocated'
METHOD_CPU_DISPATCH = 'cpu_dispatch_tracker'
METHOD_CPU_PROFILER = 'cpu_profiler_trace'

_MIB = 2**20

# --------------------------------------------------------------------------
# bytes <-> text
# --------------------------------------------------------------------------

_UNITS = {
    '': 0,
    'b': 0,
    'k': 1,
    'kb': 1,
    'kib': 1,
    'm': 2,
    'mb': 2,
    'mib': 2,
    'g': 3,
    'gb': 3,
    'gib': 3,
    't': 4,
    'tb': 4,
    'tib': 4,
}
_BYTES_RE = re.compile(r'^\s*([0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*([a-zA-Z]*)\s*$')
_ACCEPTED = ("a non-negative number of bytes (e.g. 1024) or a string such as "
             "'1024', '512K', '512M', '512MB', '1.5G', '4GiB', '2T'; "
             'units are binary (K=2**10, M=2**20, G=2**30, T=2**40) and '
             'case-insensitive; B, KB/KiB, MB/MiB, GB/GiB, TB/TiB are '
             'accepted')


def parse_bytes(value: Union[str, int, float]) -> int:
    """Parse a memory size into a number of bytes.

    Units are binary whatever their spelling: ``'4G'``, ``'4GB'`` and
    ``'4GiB'`` all mean ``4 * 2**30``. A number without a unit (or a plain
    ``int``/``float``) is a number of bytes. Fractional results are rounded
    down to whole bytes.

    Args:
        value (str | int | float): e.g. ``'4G'``, ``'512 MiB'``, ``'1.5g'``,
            ``1024``.

    Returns:
        int: The number of bytes.

    Raises:
        ValueError: If ``value`` is negative, not finite, a bool, or a string
            that is not a number followed by an optional known unit. The
            message names the value and the accepted forms.
    """
    if isinstance(value, bool):
        raise ValueError(f'Invalid memory size {value!r}: expected '
                         f'{_ACCEPTED}.')
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f'Invalid memory size {value!r}: it is '
                             f'negative; expected {_ACCEPTED}.')
        return value
    if isinstance(value, float):
        if not math.isfinite(value) or value < 0:
            raise ValueError(f'Invalid memory size {value!r}: expected '
                             f'{_ACCEPTED}.')
        return int(value)
    if not isinstance(value, str):
        raise ValueError(f'Invalid memory size {value!r} of type '
                         f'{type(value).__name__}: expected {_ACCEPTED}.')
    match = _BYTES_RE.match(value)
    unit = match.group(2).lower() if match else None
    if match is None or unit not in _UNITS:
        raise ValueError(f'Invalid memory size {value!r}: expected '
                         f'{_ACCEPTED}.')
    try:
        number = Decimal(match.group(1))
    except InvalidOperation:  # pragma: no cover - the regex prevents it
        raise ValueError(f'Invalid memory size {value!r}: expected '
                         f'{_ACCEPTED}.') from None
    return int(number * (1024**_UNITS[unit]))


def format_bytes(num_bytes: Union[int, float]) -> str:
    """Format a number of bytes with a binary unit.

    Args:
        num_bytes (int | float): A number of bytes, may be negative (e.g. a
            memory delta).

    Returns:
        str: ``'512 B'``, ``'1.50 KiB'``, ``'30.00 MiB'``, ``'4.00 GiB'``,
        ``'-2.00 MiB'``... The result parses back with :func:`parse_bytes`
        (to within the 2-decimal rounding) when it is not negative.
    """
    sign = '-' if num_bytes < 0 else ''
    size = abs(num_bytes)
    if size < 1024:
        return f'{sign}{int(size)} B'
    for unit in ('KiB', 'MiB', 'GiB', 'TiB'):
        size /= 1024.0
        if size < 1024 or unit == 'TiB':
            break
    return f'{sign}{size:.2f} {unit}'


# --------------------------------------------------------------------------
# storages of tensors held by objects
# --------------------------------------------------------------------------


def _storage_of(tensor: torch.Tensor) -> Optional[torch.UntypedStorage]:
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


def _iter_tensors(objs: Iterable[Any]) -> Iterator[torch.Tensor]:
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


def _unique_storages(
        objs: Iterable[Any],
        device: DeviceType = None) -> Dict[int, torch.UntypedStorage]:
    """Map storage id (``_cdata``) -> storage for the tensors in ``objs``,
    optionally only those on ``device`` (an index-less device matches every
    index of its type)."""
    dev = None if device is None else torch.device(device)
    storages: Dict[int, torch.UntypedStorage] = {}
    for tensor in _iter_tensors(objs):
        if dev is not None:
            tdev = tensor.device
            if tdev.type != dev.type or (dev.index is not None
                                         and tdev.index != dev.index):
                continue
        storage = _storage_of(tensor)
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
    return sum(s.nbytes() for s in _unique_storages(objs, device).values())


# --------------------------------------------------------------------------
# CPU: live storage tracker
# --------------------------------------------------------------------------


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


class _StorageTracker(TorchDispatchMode):
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
            storage = _storage_of(tensor)
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
                        arg_storage = _storage_of(arg)
                        if arg_storage is not None:
                            input_keys.add(arg_storage._cdata)
                if key in input_keys:
                    # An alias of a storage that predates the tracker.
                    continue
            self.add(storage)
        return out


# --------------------------------------------------------------------------
# CUDA: nesting-safe use of the global peak counter
# --------------------------------------------------------------------------

_CUDA_LOCK = threading.Lock()
# device index -> running CUDA meters on it
_ACTIVE_CUDA: Dict[int, 'weakref.WeakSet[MemoryMeter]'] = {}


def _cuda_reset_peak(index: int) -> None:
    """Reset the device's peak counter after folding the peak reached so far
    into every running meter on it, so that nested meters stay correct."""
    peak = torch.cuda.max_memory_allocated(index)
    for meter in list(_ACTIVE_CUDA.get(index, ())):
        meter._peak = max(meter._peak, peak)
    torch.cuda.reset_peak_memory_stats(index)


# --------------------------------------------------------------------------
# the meter
# --------------------------------------------------------------------------


class MemoryMeter:
    """Measure the peak memory held by live tensors during a block of code.

    Use it as a context manager, or call :meth:`start` / :meth:`stop` (e.g.
    in a hook's ``before_train_iter`` / ``after_train_iter``)::

        with MemoryMeter('cpu', track=[model, optimizer]) as meter:
            loss = model(x).sum()
            loss.backward()
            optimizer.step()
        print(meter.peak_mb, meter.method)

    Results:

    * ``baseline_bytes``: bytes live at :meth:`start` (or the last
      :meth:`reset`).
    * ``peak_delta_bytes``: the largest increase over the baseline reached
      during the block.
    * ``peak_bytes``: ``baseline_bytes + peak_delta_bytes``.
    * ``current_bytes``: bytes live at :meth:`stop` (or now, if running).

    On CUDA (``method == 'cuda_max_memory_allocated'``) the numbers are
    absolute for the device: the baseline is
    ``torch.cuda.memory_allocated`` at start and ``peak_bytes`` is
    ``torch.cuda.max_memory_allocated`` over the block (the device's peak
    counter is reset at start; running meters on the same device are
    nesting-safe, but a reset of the peak counter by other code during the
    block, e.g. mmengine's ``get_max_cuda_memory``, hides the peak before
    it).

    On CPU the process has no tensor-memory counter. With
    ``cpu_method='dispatch'`` (``method == 'cpu_dispatch_tracker'``) a
    ``TorchDispatchMode`` counts the bytes of every tensor storage created
    by an operator during the block, until the storage is freed; storages
    already live at start are only counted if they are held by the objects
    passed in ``track`` (they form the baseline, and their release during
    the block is seen). Without ``track`` the baseline is 0 and
    ``peak_bytes == peak_delta_bytes``. Values can be read while running.
    With ``cpu_method='profiler'`` (``method == 'cpu_profiler_trace'``) the
    allocation trace of ``torch.profiler`` is replayed at :meth:`stop`; it
    also sees temporary buffers that kernels allocate through the PyTorch
    CPU allocator, costs more, cannot run inside another profiler, and its
    results exist only after :meth:`stop`.

    Args:
        device (str | int | torch.device, optional): The device to measure.
            Defaults to None: the device of the first tensor in ``track``,
            else the current CUDA device if CUDA is available, else CPU.
        track (Any, optional): Objects whose tensors are live at start and
            belong in the baseline on CPU (anything :func:`tensor_bytes`
            accepts: model, optimizer, tensors, containers). Ignored by the
            CUDA method, whose baseline is exact. Defaults to None.
        cpu_method (str): ``'dispatch'`` (default) or ``'profiler'``.
    """

    def __init__(self,
                 device: DeviceType = None,
                 track: Any = None,
                 cpu_method: str = 'dispatch') -> None:
        if cpu_method not in ('dispatch', 'profiler'):
            raise ValueError(f"cpu_method must be 'dispatch' or 'profiler', "
                             f'got {cpu_method!r}')
        self.track = track
        self.device = self._resolve_device(device, track)
        if self.device.type == 'cuda':
            self.method = METHOD_CUDA
        elif self.device.type == 'cpu':
            self.method = (METHOD_CPU_DISPATCH if cpu_method == 'dispatch' else
                           METHOD_CPU_PROFILER)
        else:
            raise ValueError(f'MemoryMeter supports cpu and cuda devices, '
                             f'got {self.device}')
        self._running = False
        self._tracker: Optional[_StorageTracker] = None
        self._profiler = None
        self._zero()

    # -- construction helpers ------------------------------------------------
    @staticmethod
    def _resolve_device(device: DeviceType, track: Any) -> torch.device:
        if device is None and track is not None:
            for tensor in _iter_tensors([track]):
                device = tensor.device
                break
        if device is None:
            device = 'cuda' if torch.cuda.is_available() else 'cpu'
        if isinstance(device, int):
            device = torch.device('cuda', device)
        device = torch.device(device)
        if device.type == 'cuda' and device.index is None:
            device = torch.device('cuda', torch.cuda.current_device())
        return device

    def _zero(self) -> None:
        self._baseline = 0
        self._peak = 0
        self._current = 0

    # -- state ---------------------------------------------------------------
    @property
    def running(self) -> bool:
        """bool: Whether a measurement is in progress."""
        return self._running

    def start(self, track: Any = None) -> 'MemoryMeter':
        """Start a new measurement (previous results are discarded).

        Args:
            track (Any, optional): More objects for this measurement's CPU
                baseline, e.g. the data batch of the iteration, in addition
                to those given at construction. Only weak references to
                their storages are kept. Defaults to None.

        Returns:
            MemoryMeter: ``self``.

        Raises:
            RuntimeError: If the meter is already running.
        """
        if self._running:
            raise RuntimeError('MemoryMeter.start(): already running; '
                               'call stop() first')
        self._zero()
        if self.method == METHOD_CUDA:
            index = self.device.index
            with _CUDA_LOCK:
                _cuda_reset_peak(index)
                self._baseline = torch.cuda.memory_allocated(index)
                self._peak = self._current = self._baseline
                _ACTIVE_CUDA.setdefault(index, weakref.WeakSet()).add(self)
        elif self.method == METHOD_CPU_DISPATCH:
            tracker = _StorageTracker(self.device.type)
            for storage in _unique_storages([self.track, track],
                                            self.device).values():
                tracker.add(storage)
            self._baseline = tracker.current
            tracker.__enter__()
            self._tracker = tracker
        else:
            from torch.profiler import ProfilerActivity, profile
            if torch._C._autograd._profiler_enabled():
                raise RuntimeError(
                    "MemoryMeter(cpu_method='profiler') cannot start while "
                    'another torch.profiler session is active (it would '
                    "cancel it); use cpu_method='dispatch'")
            self._baseline = tensor_bytes(self.track,
                                          track,
                                          device=self.device)
            self._profiler = profile(activities=[ProfilerActivity.CPU],
                                     profile_memory=True)
            self._profiler.__enter__()
        self._running = True
        return self

    def stop(self) -> 'MemoryMeter':
        """Stop the measurement and freeze the results.

        Returns:
            MemoryMeter: ``self``.

        Raises:
            RuntimeError: If the meter is not running, or (CPU dispatch
                method) another ``TorchDispatchMode`` entered after
                :meth:`start` is still active.
        """
        if not self._running:
            raise RuntimeError('MemoryMeter.stop() called while not running')
        if self.method == METHOD_CUDA:
            index = self.device.index
            with _CUDA_LOCK:
                self._peak = max(self._peak,
                                 torch.cuda.max_memory_allocated(index))
                self._current = torch.cuda.memory_allocated(index)
                _ACTIVE_CUDA.get(index, weakref.WeakSet()).discard(self)
        elif self.method == METHOD_CPU_DISPATCH:
            tracker = self._tracker
            if _get_current_dispatch_mode() is not tracker:
                raise RuntimeError(
                    'MemoryMeter.stop(): another TorchDispatchMode entered '
                    'after start() is still active; exit it first')
            tracker.__exit__(None, None, None)
            tracker.drain()
            self._peak = tracker.peak
            self._current = tracker.current
            tracker.clear()
            self._tracker = None
        else:
            prof, self._profiler = self._profiler, None
            prof.__exit__(None, None, None)
            peak, current = self._replay_profiler(prof)
            self._peak = self._baseline + peak
            self._current = self._baseline + current
        self._running = False
        return self

    def reset(self) -> None:
        """Reset the results.

        While running, restart the measurement from the present: the
        baseline becomes the bytes live now and the peak is set to it (like
        ``torch.cuda.reset_peak_memory_stats``). When stopped, zero every
        result.

        Raises:
            RuntimeError: For the CPU profiler method while running.
        """
        if not self._running:
            self._zero()
        elif self.method == METHOD_CUDA:
            index = self.device.index
            with _CUDA_LOCK:
                _ACTIVE_CUDA[index].discard(self)
                _cuda_reset_peak(index)
                self._baseline = torch.cuda.memory_allocated(index)
                self._peak = self._current = self._baseline
                _ACTIVE_CUDA[index].add(self)
        elif self.method == METHOD_CPU_DISPATCH:
            tracker = self._tracker
            tracker.drain()
            tracker.peak = tracker.current
            self._baseline = tracker.current
        else:
            raise RuntimeError('reset() is not supported while running with '
                               "cpu_method='profiler'; stop() and start()")

    @staticmethod
    def _replay_profiler(prof) -> Tuple[int, int]:
        """Return (peak, final) bytes of the CPU blocks allocated while
        ``prof`` recorded.

        Frees are matched to allocations by address: a free of a block not
        allocated during the recording is ignored (PyTorch's CPU memory
        reporter may report one with a stale size when the address was used
        by an earlier recording).
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

    def _live(self) -> None:
        """Refresh ``_peak`` / ``_current`` while running."""
        if not self._running:
            return
        if self.method == METHOD_CUDA:
            index = self.device.index
            self._peak = max(self._peak,
                             torch.cuda.max_memory_allocated(index))
            self._current = torch.cuda.memory_allocated(index)
        elif self.method == METHOD_CPU_DISPATCH:
            self._tracker.drain()
            self._peak = self._tracker.peak
            self._current = self._tracker.current
        else:
            raise RuntimeError("With cpu_method='profiler' the results are "
                               'only available after stop()')

    # -- results -------------------------------------------------------------
    @property
    def baseline_bytes(self) -> int:
        """int: Bytes live at start (CPU: those held by ``track``)."""
        return self._baseline

    @property
    def peak_bytes(self) -> int:
        """int: Peak live bytes, ``baseline_bytes + peak_delta_bytes``."""
        self._live()
        return self._peak

    @property
    def peak_delta_bytes(self) -> int:
        """int: Peak increase of live bytes over the baseline."""
        self._live()
        return self._peak - self._baseline

    @property
    def current_bytes(self) -> int:
        """int: Live bytes at stop (or now, while running)."""
        self._live()
        return self._current

    @property
    def peak_mb(self) -> float:
        """float: :attr:`peak_bytes` in MiB (2**20 bytes)."""
        return self.peak_bytes / _MIB

    @property
    def peak_delta_mb(self) -> float:
        """float: :attr:`peak_delta_bytes` in MiB (2**20 bytes)."""
        return self.peak_delta_bytes / _MIB

    # -- protocol ------------------------------------------------------------
    def __enter__(self) -> 'MemoryMeter':
        return self.start()

    def __exit__(self, exc_type, exc_value, traceback) -> None:
        self.stop()

    def __repr__(self) -> str:
        if self._running and self.method == METHOD_CPU_PROFILER:
            stats = 'running'
        else:
            stats = (f'peak={format_bytes(self.peak_bytes)}, '
                     f'peak_delta={format_bytes(self.peak_delta_bytes)}, '
                     f'baseline={format_bytes(self.baseline_bytes)}' +
                     (', running' if self._running else ''))
        return (f'{type(self).__name__}(device={self.device}, '
                f'method={self.method!r}, {stats})')
