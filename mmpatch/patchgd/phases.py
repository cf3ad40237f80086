"""Named phases of the engine, for whoever measures them.

The engine marks each phase of a training step and of inference with
``with phase(name):``. Nothing listens by default (the cost is one context
variable read). A benchmark listens for a block of code with
:func:`listen_to_phases`, e.g. to split a step's time and peak memory by
phase (``tools/analysis_tools/membench/phases.py``). Phases nest; a
listener sees every ``enter`` and ``exit``.

The phases, in the order a step meets them: ``preprocess``, ``fill``,
``sample``, ``patch_encode`` (θ1 with gradients on the sampled cells, one
pass), ``chunk_encode`` (the cells encoded without gradients into Z,
chunked), ``global``, ``head_loss``, ``backward``, ``chunk_backward``,
``global_backward`` (the deferred one of ``global_grad='once'``),
``optim_step``; inference: ``fill``, ``global``, ``head_predict``.
"""
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Iterator, Optional, Protocol


class PhaseListener(Protocol):
    """Told when a phase starts and ends."""

    def enter(self, name: str) -> None:
        ...

    def exit(self) -> None:
        ...


_listener: ContextVar[Optional[PhaseListener]] = ContextVar(
    'mmpatch_phase_listener', default=None)


@contextmanager
def phase(name: str) -> Iterator[None]:
    """Mark the block as phase ``name`` for the current listener, if any."""
    listener = _listener.get()
    if listener is None:
        yield
        return
    listener.enter(name)
    try:
        yield
    finally:
        listener.exit()


@contextmanager
def listen_to_phases(listener: PhaseListener) -> Iterator[None]:
    """Send the phases of the engine's code run in the block to
    ``listener``."""
    token = _listener.set(listener)
    try:
        yield
    finally:
        _listener.reset(token)
