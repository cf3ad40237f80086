"""The memory-budget planner: choose k and ``fill_chunk`` from measurements.

Peak memory of a PatchGD step is ``max(fill, inner iteration)``. The fill
grows with ``fill_chunk`` (no-grad activations of that many patches), the
inner iteration with k (activations kept for backward), and both share the
fixed part: weights, gradients, optimizer state, Z and θ2 over Z. The
planner runs short trial steps on the real model, optimizer and batch, then
restores every piece of state they touched:

* ``P(1, 1)``: one patch, one-patch fill chunks: the fixed part + one patch;
* ``P(2, 1)``: the extra cost of one more patch with gradients (a);
* ``P(1, c)``: the extra cost of ``c - 1`` more patches in a fill chunk (b).

Optimizer state that the first real step creates (momentum, Adam's
moments) is live during every later step; its size, read after a trial, is
added to the base.

It then predicts ``P(k, c) = P(1, 1) + a (k - 1) + b (c - 1)``, an upper
bound of ``max(fill, inner)`` when both grow linearly, and picks the largest
``c <= fill_chunk`` and then the largest k that fit under ``budget * (1 -
margin)``.
"""
import copy
import logging
from dataclasses import dataclass, replace
from typing import Any, Callable, Dict, Optional

from torch import nn

from mmpatch.utils.optim_wrapper import set_inner_count
from .tensors import tensor_bytes
from .units import format_bytes


@dataclass
class MemoryPlan:
    """The planner's choice and the measurements behind it (bytes)."""
    budget: int
    patches_per_iter: int
    fill_chunk: int
    predicted_peak: int
    base_peak: int
    per_patch: int
    per_fill_patch: int
    num_cells: int
    #: cells over the whole batch the plan was measured on
    batch_cells: int = 0

    def summary(self) -> str:
        return (f'memory plan: k={self.patches_per_iter} of '
                f'{self.num_cells} cells, fill_chunk={self.fill_chunk}; '
                f'predicted peak {format_bytes(self.predicted_peak)} within '
                f'the budget of {format_bytes(self.budget)} (one patch '
                f'step {format_bytes(self.base_peak)}, +'
                f'{format_bytes(self.per_patch)} a patch with gradients, +'
                f'{format_bytes(self.per_fill_patch)} a fill patch)')


class BudgetError(RuntimeError):
    """Even one patch per iteration does not fit the memory budget."""


class Trial:
    """One trial step of the planner: ``trial()`` runs it.

    Attributes:
        k (int): patches per image with gradients in its one inner
            iteration.
        fill_chunk (int): patches per forward of its fill.
    """

    def __init__(self, run: Callable[['Trial'], None], k: int,
                 fill_chunk: int) -> None:
        self._run, self.k, self.fill_chunk = run, k, fill_chunk

    def __call__(self) -> None:
        self._run(self)

    def __repr__(self) -> str:
        return f'Trial(k={self.k}, fill_chunk={self.fill_chunk})'


def plan_memory(model: nn.Module,
                data_batch: Any,
                optim_wrapper,
                budget: int,
                measure: Callable[[Trial], int],
                margin: float = 0.05,
                logger: logging.Logger = None,
                fixed_k: Optional[int] = None) -> MemoryPlan:
    """Measure trial steps and choose k and ``fill_chunk`` under ``budget``.

    The trials run :class:`~mmpatch.patchgd.step.TrainStep` with one inner
    iteration and their own k and fill chunk; they change neither the
    model's ``patch_cfg`` nor its step plan, and every piece of state they
    touch (weights, optimizer, gradients, BatchNorm statistics, the step
    counter) is restored afterwards.

    Args:
        model (nn.Module): a :class:`PatchGDMixin` model (unwrapped).
        data_batch: one batch as the dataloader yields it.
        optim_wrapper: the runner's ``OptimWrapper``.
        budget (int): bytes.
        measure (callable): runs a :class:`Trial` and returns its peak
            bytes (absolute: weights and everything live included).
        margin (float): fraction of the budget kept free.
        fixed_k (int, optional): k that ``patch_cfg`` fixes: only the fill
            chunk is chosen, and the plan fails if this k does not fit.

    Raises:
        BudgetError: when one patch with one-patch fill chunks does not fit,
            or ``fixed_k`` does not.
    """
    from mmpatch.patchgd.plan import StepPlan
    from mmpatch.patchgd.step import TrainStep
    cfg = model.patch_cfg
    saved = _save_state(model, optim_wrapper)
    # the grid of this batch
    data = model.data_preprocessor(copy.deepcopy(data_batch), True)
    grid = model.make_grid(data['inputs'], data['data_samples'])
    cells = grid.num_cells
    max_chunk = max(1, min(cfg.fill_chunk, cells * grid.batch_size))

    state_before = tensor_bytes(optim_wrapper.optimizer)
    state_after = [state_before]
    trial_cfg = replace(cfg, inner_iters=1, accumulate=1)

    def step(trial: Trial) -> None:
        plan = StepPlan(patches_per_iter=trial.k, fill_chunk=trial.fill_chunk)
        TrainStep(model, optim_wrapper, cfg=trial_cfg,
                  plan=plan).run(copy.deepcopy(data_batch))
        # optimizer state (momentum, Adam's moments) appears at the first
        # step and is then live during every later one; the trials restore
        # it, so its size is added to the measured base below
        state_after[0] = max(state_after[0],
                             tensor_bytes(optim_wrapper.optimizer))

    def trial(k: int, chunk: int) -> int:
        try:
            return measure(Trial(step, k, chunk))
        finally:
            _load_state(model, optim_wrapper, saved)

    try:
        base = trial(1, 1)
        per_patch = max(0, trial(2, 1) - base) if cells > 1 else 0
        per_fill = (
            max(0, (trial(1, max_chunk) - base)) // (max_chunk - 1)
            if max_chunk > 1 else 0)
    finally:
        _load_state(model, optim_wrapper, saved)

    base += max(0, state_after[0] - state_before)
    usable = int(budget * (1 - margin))
    if base > usable:
        raise BudgetError(
            f'memory_budget={format_bytes(budget)} is too small: one '
            f'training step with a single {cfg.patch_size[0]}x'
            f'{cfg.patch_size[1]} patch per iteration already needs '
            f'{format_bytes(base)} (measured, {cells} cells per image, batch '
            f'of {grid.batch_size}, {int(margin * 100)}% margin). Raise the '
            'budget, or lower: patch_cfg.patch_size, latent_channels (the '
            'size of Z), the batch size, or the image size.')
    def predict(k: int, chunk: int) -> int:
        return base + per_patch * (k - 1) + per_fill * (chunk - 1)

    chunk = max_chunk
    least_k = 1 if fixed_k is None else min(fixed_k, cells)
    while chunk > 1 and predict(least_k, chunk) > usable:
        chunk -= 1
    room = usable - predict(1, chunk)
    k = 1 + (room // per_patch if per_patch else cells)
    k = int(max(1, min(k, cells)))
    if fixed_k is not None:
        if predict(least_k, chunk) > usable:
            raise BudgetError(
                f'patch_cfg.patches_per_iter={fixed_k} does not fit '
                f'memory_budget={format_bytes(budget)}: it needs '
                f'{format_bytes(predict(least_k, chunk))} (measured: one '
                f'patch step {format_bytes(base)}, +{format_bytes(per_patch)}'
                f' a patch with gradients; {int(margin * 100)}% margin) and '
                f'at most {k} patches fit. Lower patches_per_iter, use '
                "patches_per_iter='auto', or raise the budget.")
        k = least_k
    plan = MemoryPlan(
        budget=budget,
        patches_per_iter=k,
        fill_chunk=chunk,
        predicted_peak=predict(k, chunk),
        base_peak=base,
        per_patch=per_patch,
        per_fill_patch=per_fill,
        num_cells=cells,
        batch_cells=cells * grid.batch_size)
    if logger is not None:
        logger.info(plan.summary())
    return plan


def _save_state(model: nn.Module, optim_wrapper) -> Dict[str, Any]:
    return dict(
        model={k: v.detach().clone()
               for k, v in model.state_dict().items()},
        optim=copy.deepcopy(optim_wrapper.state_dict()),
        inner_count=optim_wrapper.inner_count,
        stats=model.last_step_stats,
        grads={
            n: None if p.grad is None else p.grad.detach().clone()
            for n, p in model.named_parameters()
        })


def _load_state(model: nn.Module, optim_wrapper, saved: Dict[str,
                                                            Any]) -> None:
    model.load_state_dict(saved['model'])
    optim_wrapper.load_state_dict(copy.deepcopy(saved['optim']))
    set_inner_count(optim_wrapper, saved['inner_count'])
    model.record_step(saved['stats'])
    for n, p in model.named_parameters():
        p.grad = saved['grads'][n]
