"""The one place mmpatch reads or writes what mmengine's ``OptimWrapper``
keeps private.

The PatchGD step drives the optimizer itself (several backward passes per
training step, its own accumulation windows), and the memory planner runs
trial steps that must leave the wrapper as it found it. mmengine 0.10
offers no public accessor for the two counters this needs:
``accumulative_counts`` (set from the config, read only through
``_accumulative_counts``) and the number of backward passes so far
(readable as ``inner_count``, settable only through
``initialize_count_status``, which also resets ``max_counts``).
"""
from mmengine.optim import OptimWrapper


def accumulative_counts(optim_wrapper: OptimWrapper) -> int:
    """``optim_wrapper.accumulative_counts`` as the config set it (1 for
    wrappers without accumulation)."""
    return int(getattr(optim_wrapper, '_accumulative_counts', 1))


def set_inner_count(optim_wrapper: OptimWrapper, count: int) -> None:
    """Put the wrapper's backward counter (``inner_count``) back to
    ``count``, leaving ``max_counts`` alone."""
    optim_wrapper._inner_count = int(count)
