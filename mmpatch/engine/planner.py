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
from dataclasses import dataclass
from typing import Any, Callable, Dict

from torch import nn

from .memory import format_bytes, tensor_bytes


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


def plan_memory(model: nn.Module,
                data_batch: Any,
                optim_wrapper,
                budget: int,
                measure: Callable[[Callable[[], Any]], int],
                margin: float = 0.05,
                logger: logging.Logger = None) -> MemoryPlan:
    """Measure trial steps and choose k and ``fill_chunk`` under ``budget``.

    Args:
        model (nn.Module): a :class:`PatchGDMixin` model (unwrapped).
        data_batch: one batch as the dataloader yields it.
        optim_wrapper: the runner's ``OptimWrapper``.
        budget (int): bytes.
        measure (callable): runs a function and returns its peak bytes
            (absolute: weights and everything live included).
        margin (float): fraction of the budget kept free.

    Raises:
        BudgetError: when one patch with one-patch fill chunks does not fit.
    """
    cfg = model.patch_cfg
    saved = _save_state(model, optim_wrapper)
    # the grid of this batch
    data = model.data_preprocessor(copy.deepcopy(data_batch), True)
    grid = model.make_grid(data['inputs'], data['data_samples'])
    cells = grid.num_cells
    max_chunk = max(1, min(cfg.fill_chunk, cells * grid.batch_size))

    state_before = tensor_bytes(optim_wrapper.optimizer)
    state_after = [state_before]

    def step() -> None:
        model.train_step(copy.deepcopy(data_batch), optim_wrapper)
        # optimizer state (momentum, Adam's moments) appears at the first
        # step and is then live during every later one; the trials restore
        # it, so its size is added to the measured base below
        state_after[0] = max(state_after[0],
                             tensor_bytes(optim_wrapper.optimizer))

    def trial(k: int, chunk: int) -> int:
        overrides = dict(
            patches_per_iter=k,
            inner_iters=1,
            accumulate=1,
            fill_chunk=chunk,
            planned_k=None)
        original = {key: getattr(cfg, key) for key in overrides}
        for key, value in overrides.items():
            setattr(cfg, key, value)
        try:
            return measure(step)
        finally:
            for key, value in original.items():
                setattr(cfg, key, value)
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
            'budget, or lower: patch_cfg.patch_size, latent_channels / '
            'latent_dim (the size of Z), the batch size, or the image size.')
    chunk = max_chunk
    while chunk > 1 and base + per_fill * (chunk - 1) > usable:
        chunk -= 1
    room = usable - base - per_fill * (chunk - 1)
    k = 1 + (room // per_patch if per_patch else cells)
    k = int(max(1, min(k, cells)))
    plan = MemoryPlan(
        budget=budget,
        patches_per_iter=k,
        fill_chunk=chunk,
        predicted_peak=base + per_patch * (k - 1) + per_fill * (chunk - 1),
        base_peak=base,
        per_patch=per_patch,
        per_fill_patch=per_fill,
        num_cells=cells)
    if logger is not None:
        logger.info(plan.summary())
    return plan


def _save_state(model: nn.Module, optim_wrapper) -> Dict[str, Any]:
    return dict(
        model={k: v.detach().clone()
               for k, v in model.state_dict().items()},
        optim=copy.deepcopy(optim_wrapper.state_dict()),
        inner_count=getattr(optim_wrapper, '_inner_count', 0),
        grads={
            n: None if p.grad is None else p.grad.detach().clone()
            for n, p in model.named_parameters()
        })


def _load_state(model: nn.Module, optim_wrapper, saved: Dict[str,
                                                            Any]) -> None:
    model.load_state_dict(saved['model'])
    optim_wrapper.load_state_dict(copy.deepcopy(saved['optim']))
    if hasattr(optim_wrapper, '_inner_count'):
        optim_wrapper._inner_count = saved['inner_count']
    for n, p in model.named_parameters():
        p.grad = saved['grads'][n]
