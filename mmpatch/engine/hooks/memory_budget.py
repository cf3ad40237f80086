"""MemoryBudgetHook: plan k and the fill chunk for a memory budget, and
hold the budget for every batch."""
from dataclasses import replace
from typing import Any, Optional

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.registry import HOOKS

from mmpatch.datasets.sizes import dataset_sizes, largest_samples
from mmpatch.memory import MIB, MemoryMeter, format_bytes, parse_bytes
from mmpatch.memory.planner import BudgetFit, fit_budget
from mmpatch.patchgd import PatchGDMixin
from .memory_logger import PEAK_KEY, MemoryLoggerHook


class BudgetExceededError(RuntimeError):
    """A training iteration's measured peak passed the memory budget."""


def batch_cells(data_batch: Any, patch_size) -> int:
    """Grid cells of a batch as the dataloader yields it, over all images:
    ``B * ceil(H / ph) * ceil(W / pw)`` with ``(H, W)`` the largest sides
    (the padded batch). Images are ``(C, h, w)`` tensors, a stacked
    ``(B, C, H, W)`` tensor, or ``LoadLazyImage``'s zero-channel stand-ins.
    """
    inputs = data_batch['inputs']
    shapes = [tuple(img.shape[-2:]) for img in inputs]
    H = max(h for h, _ in shapes)
    W = max(w for _, w in shapes)
    ph, pw = patch_size
    return len(shapes) * -(-H // ph) * -(-W // pw)


def loader_batch_size(loader: Any) -> int:
    """Images per batch of a dataloader. With a batch sampler (mmdet's
    ``AspectRatioBatchSampler``) ``DataLoader.batch_size`` is None and the
    sampler holds it."""
    return (loader.batch_size
            or getattr(getattr(loader, 'batch_sampler', None), 'batch_size',
                       None) or 1)


@HOOKS.register_module()
class MemoryBudgetHook(Hook):
    """Keeps every training iteration of a PatchGD model under a budget.

    * **Before training** it plans for the largest images of the training
      set: their sizes come from the annotations or the image headers
      (:mod:`mmpatch.datasets.sizes`, nothing is decoded), the
      ``batch_size`` largest are collated as the loader does, and the memory
      planner's trial steps on them choose k and the fill chunk
      (:func:`~mmpatch.memory.planner.fit_budget`). The run stops before
      training if k = 1 does not fit, or if the k that ``patch_cfg`` fixes
      does not.
    * **Before each iteration** whose batch has more grid cells than the
      plan was made for (a pipeline that resizes, an image without a known
      size), it plans again on that batch, before it runs.
    * **Every iteration's measured peak** (logged by
      :class:`MemoryLoggerHook`, which must be in the config) is checked:
      one over the budget stops the run with a
      :class:`BudgetExceededError` that gives the numbers.

    The budget is ``patch_cfg.memory_budget``, or this hook's
    ``memory_budget``, which also plans k where ``patch_cfg`` fixes it.
    Without either the hook does nothing.

    Args:
        memory_budget (str | int, optional): e.g. ``'4G'``.
        margin (float): fraction of the budget the plan keeps free.
    """

    # before MemoryLoggerHook starts its meter: a re-plan's trial steps are
    # not part of the iteration's peak
    priority = 'ABOVE_NORMAL'

    def __init__(self,
                 memory_budget: Optional[Any] = None,
                 margin: float = 0.05) -> None:
        self.memory_budget = (
            parse_bytes(memory_budget) if memory_budget is not None else None)
        self.margin = margin
        self.budget: Optional[int] = None
        self.fit: Optional[BudgetFit] = None
        self._pending = False  # an iteration ran whose peak is unchecked

    def before_train(self, runner) -> None:
        model = runner.model
        if is_model_wrapper(model):
            model = model.module
        if not isinstance(model, PatchGDMixin):
            return
        self.budget = self.memory_budget or model.patch_cfg.budget_bytes
        if self.budget is None:
            return
        if not any(isinstance(h, MemoryLoggerHook) for h in runner.hooks):
            raise ValueError(
                'MemoryBudgetHook checks every iteration\'s peak that '
                "MemoryLoggerHook measures: add dict(type='MemoryLoggerHook')"
                ' to custom_hooks (configs/_base_/patchgd_runtime.py has '
                'both)')
        loader = runner.train_dataloader
        indices = largest_samples(dataset_sizes(loader.dataset),
                                  loader_batch_size(loader),
                                  model.patch_cfg.patch_size)
        batch = loader.collate_fn([loader.dataset[i] for i in indices])
        self._fit(runner, model, batch)

    def _fit(self, runner, model: PatchGDMixin, batch: Any) -> None:
        """Plan on ``batch`` and hand the model the plan's choices."""
        cfg = model.patch_cfg
        fixed = (cfg.patches_per_iter
                 if isinstance(cfg.patches_per_iter, int)
                 and self.memory_budget is None else None)
        device = next(model.parameters()).device

        def measure(trial) -> int:
            # the batch is tracked as MemoryLoggerHook tracks each
            # iteration's: the trials step on deep copies of it, copies that
            # the CPU count does not see being made (storage copies are not
            # operators); on CUDA it is on the host and not counted either way
            with MemoryMeter(device=device,
                             track=[model, runner.optim_wrapper,
                                    batch]) as meter:
                trial()
            return meter.peak_bytes

        self.fit = fit_budget(model, batch, runner.optim_wrapper,
                              self.budget, measure, self.margin,
                              runner.logger, fixed_k=fixed)
        model.set_step_plan(
            replace(model.step_plan,
                    **self.fit.step_plan_fields(fixed_k=fixed is not None),
                    planned_cells=batch_cells(batch, cfg.patch_size)))

    def before_train_iter(self,
                          runner,
                          batch_idx: int,
                          data_batch: Any = None) -> None:
        if self.budget is None:
            return
        self._check_last_peak(runner)
        model = runner.model
        if is_model_wrapper(model):
            model = model.module
        cells = batch_cells(data_batch, model.patch_cfg.patch_size)
        if cells > model.step_plan.planned_cells:
            runner.logger.info(
                f'iteration {runner.iter + 1}: a batch of {cells} grid cells, '
                f'more than the {model.step_plan.planned_cells} the memory '
                'plan was made for: planning again before it runs')
            self._fit(runner, model, data_batch)
        self._pending = True

    def after_train(self, runner) -> None:
        if self.budget is not None:
            self._check_last_peak(runner)

    def _check_last_peak(self, runner) -> None:
        """Stop if the iteration that just ran passed the budget."""
        if not self._pending:
            return
        self._pending = False
        peak = runner.message_hub.get_scalar(PEAK_KEY).current() * MIB
        if peak > self.budget:
            raise BudgetExceededError(
                f'iteration {runner.iter}: the measured peak '
                f'{format_bytes(peak)} passed memory_budget='
                f'{format_bytes(self.budget)}; the plan predicted '
                f'{format_bytes(self.fit.predicted_peak)} '
                f'({self.fit.summary()}). Raise the budget, or keep more of '
                f'it free: MemoryBudgetHook(margin={self.margin}) -> a larger '
                'margin')
