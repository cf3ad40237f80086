"""Peak tensor-memory measurement shared by the hooks, benchmarks and tests.

The single entry point is :class:`MemoryMeter`. It measures the peak number
of bytes held by live tensors while it runs, with one of the backends of
:mod:`mmpatch.memory.backends`:

* on CUDA with the caching allocator's counters
  (``torch.cuda.max_memory_allocated``);
* on CPU by counting the bytes of live tensor *storages* with a
  ``TorchDispatchMode`` that sees every operator output (the default,
  ``cpu_method='dispatch'``), or from the allocation trace of
  ``torch.profiler`` (``cpu_method='profiler'``, heavier, used to validate).

Process RSS is never used. See ``docs/memory.md`` for what is and is not
counted.
"""
from typing import Any, Tuple

import torch

from mmpatch.utils.units import MIB, format_bytes
from .backends import (METHOD_CPU_DISPATCH, METHOD_CPU_PROFILER, METHOD_CUDA,
                       CudaBackend, DispatchBackend, ProfilerBackend)
from .tensors import DeviceType, iter_tensors

__all__ = ['MemoryMeter', 'METHOD_CUDA', 'METHOD_CPU_DISPATCH',
           'METHOD_CPU_PROFILER']

_BACKENDS = {'dispatch': DispatchBackend, 'profiler': ProfilerBackend}


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
        if cpu_method not in _BACKENDS:
            raise ValueError(f"cpu_method must be 'dispatch' or 'profiler', "
                             f'got {cpu_method!r}')
        self.track = track
        self.device = self._resolve_device(device, track)
        if self.device.type == 'cuda':
            backend = CudaBackend
        elif self.device.type == 'cpu':
            backend = _BACKENDS[cpu_method]
        else:
            raise ValueError(f'MemoryMeter supports cpu and cuda devices, '
                             f'got {self.device}')
        self._backend = backend(self.device)
        self.method = backend.method
        self._running = False
        self._zero()

    @staticmethod
    def _resolve_device(device: DeviceType, track: Any) -> torch.device:
        if device is None and track is not None:
            for tensor in iter_tensors([track]):
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
        self._baseline = self._peak = self._current = 0

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
        self._baseline = self._backend.start([self.track, track])
        self._peak = self._current = self._baseline
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
        self._peak, self._current = self._backend.stop()
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
            return
        self._baseline = self._backend.reset()
        self._peak = self._current = self._baseline

    def _results(self) -> Tuple[int, int]:
        """``(peak, current)`` bytes, refreshed while running."""
        if self._running:
            self._peak, self._current = self._backend.read()
        return self._peak, self._current

    # -- results -------------------------------------------------------------
    @property
    def baseline_bytes(self) -> int:
        """int: Bytes live at start (CPU: those held by ``track``)."""
        return self._baseline

    @property
    def peak_bytes(self) -> int:
        """int: Peak live bytes, ``baseline_bytes + peak_delta_bytes``."""
        return self._results()[0]

    @property
    def peak_delta_bytes(self) -> int:
        """int: Peak increase of live bytes over the baseline."""
        return self._results()[0] - self._baseline

    @property
    def current_bytes(self) -> int:
        """int: Live bytes at stop (or now, while running)."""
        return self._results()[1]

    @property
    def peak_mb(self) -> float:
        """float: :attr:`peak_bytes` in MiB (2**20 bytes)."""
        return self.peak_bytes / MIB

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
