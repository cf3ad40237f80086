"""MemoryLoggerHook: the measured peak of every training iteration, and
what the PatchGD step did, in the run's log."""
from typing import Any, Optional, Sequence

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.registry import HOOKS

from mmpatch.memory import MIB, MemoryMeter
from mmpatch.patchgd import PatchGDMixin

#: the message hub key of the iteration's measured peak (MiB)
PEAK_KEY = 'train/memory/peak_mb'


@HOOKS.register_module()
class MemoryLoggerHook(Hook):
    """Measures the peak memory of each training iteration and logs it.

    Around every training iteration a :class:`~mmpatch.memory.MemoryMeter`
    measures the peak (CUDA: ``max_memory_allocated``; CPU: live tensor
    bytes, the weights, optimizer state and batch included) and logs
    ``memory/peak_mb``. For PatchGD models it also logs, from the step's
    :class:`~mmpatch.patchgd.StepStats`, ``memory/latent_mb`` (Z),
    ``time/fill_s`` and ``patches_per_iter``. Everything goes through the
    message hub, so it appears in the text log and in TensorBoard.
    :class:`~mmpatch.engine.hooks.MemoryBudgetHook` checks the logged
    peaks against the budget.

    Args:
        interval (int): measure every ``interval``-th iteration (and the
            first two) only. On CPU the meter's per-operator bookkeeping
            slows a step (up to 3x for ``gradient='full'``'s many small
            operators), so runs whose training time is compared measure
            one iteration in ``interval``; ``memory/peak_mb`` then keeps the
            last measured value in between. Default 1: every iteration.

    Attributes:
        meter (MemoryMeter): the meter, from ``before_train`` on.
        max_peak_bytes (int): the largest peak of the run so far.
    """

    priority = 'NORMAL'

    def __init__(self, interval: int = 1) -> None:
        if not (isinstance(interval, int) and interval >= 1):
            raise ValueError(f'interval must be an int >= 1, got {interval!r}')
        self.interval = interval
        self.meter: Optional[MemoryMeter] = None
        self.max_peak_bytes = 0

    def _measures(self, runner) -> bool:
        return runner.iter < 2 or runner.iter % self.interval == 0

    def before_train(self, runner) -> None:
        model = runner.model
        if is_model_wrapper(model):
            model = model.module
        self.meter = MemoryMeter(device=next(model.parameters()).device,
                                 track=[model, runner.optim_wrapper])

    def before_train_iter(self,
                          runner,
                          batch_idx: int,
                          data_batch: Any = None) -> None:
        if self.meter.running:  # the previous iteration raised
            self.meter.stop()
        if self._measures(runner):
            self.meter.start(track=data_batch)

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch: Any = None,
                         outputs: Optional[dict] = None) -> None:
        hub = runner.message_hub
        model = runner.model
        if is_model_wrapper(model):
            model = model.module
        stats = (model.last_step_stats
                 if isinstance(model, PatchGDMixin) else None)
        if stats is not None:
            hub.update_scalar('train/memory/latent_mb', stats.latent_mb)
            hub.update_scalar('train/time/fill_s', stats.fill_s)
            hub.update_scalar('train/patches_per_iter',
                              stats.patches_per_iter)
        if not self.meter.running:  # not measured (interval)
            return
        self.meter.stop()
        peak = self.meter.peak_bytes
        self.max_peak_bytes = max(self.max_peak_bytes, peak)
        hub.update_scalar(PEAK_KEY, peak / MIB)

    @staticmethod
    def summary_keys() -> Sequence[str]:
        """Keys this hook logs (under ``train/``)."""
        return ('memory/peak_mb', 'memory/latent_mb', 'time/fill_s',
                'patches_per_iter')
