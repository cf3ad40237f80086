"""The memory-budget planner: choose k and the chunk sizes from measurements.

Peak memory of a sampled PatchGD step is ``max(fill, inner iteration)``.
The fill grows with ``fill_chunk`` (no-grad activations of that many
patches), the inner iteration with k (activations kept for backward), and
both share the fixed part: weights, gradients, optimizer state, Z and θ2
over Z. The planner runs short trial steps on the real model, optimizer and
batch, then restores every piece of state they touched:

* ``P(1, 1)``: one patch, one-patch fill chunks: the fixed part + one patch;
* ``P(2, 1)``: the extra cost of one more patch with gradients (a);
* ``P(1, c)``: the extra cost of ``c - 1`` more patches in a fill chunk (b).

It then predicts ``P(k, c) = P(1, 1) + a (k - 1) + b (c - 1)``, an upper
bound of ``max(fill, inner)`` when both grow linearly, and picks the largest
``c <= fill_chunk`` and then the largest k that fit under ``budget * (1 -
margin)``.

A full-gradient step (``gradient='full'``) has every cell in its one
iteration; what grows is the chunk, of the fill and of the chunked backward
alike (one size for both, so that BatchNorm in train mode sees the same
chunks in both passes): ``P(c) = P(1) + b (c - 1)`` from ``P(1)`` and
``P(fill_chunk)``, and the largest ``c`` that fits is chosen.

Optimizer state that the first real step creates (momentum, Adam's
moments) is live during every later step; its size, read after a trial, is
added to the base.
"""
import copy
import logging
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any, Callable, Dict, Optional

import torch
from torch import nn

from mmpatch.utils.optim_wrapper import set_inner_count
from mmpatch.utils.units import format_bytes
from .tensors import tensor_bytes


@dataclass
class BudgetFit:
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
    #: the chunked backward's chunk (``'full'``), None otherwise
    backward_chunk: Optional[int] = None
    #: fill chunks whose graphs the step keeps (``'full'``); None: not
    #: planned (``patch_cfg.keep_chunks`` pins it, or ``'sampled'``)
    keep_chunks: Optional[int] = None
    #: the measured cost of one more kept chunk
    per_kept_chunk: int = 0
    #: every chunk is kept and the budget holds the step with only the
    #: first n of θ1's checkpointed host modules checkpointed and no
    #: ``patch_cfg.with_cp`` (0: none; each block that is not checkpointed
    #: would only run forward once more); None: θ1 checkpoints as
    #: configured
    checkpoint: Optional[int] = None
    #: θ1's host modules that checkpoint their own activations
    checkpointed_modules: int = 0
    #: the measured peak of the step with every chunk kept and no
    #: checkpointing at all (the planner's trial); None: not measured
    uncheckpointed_peak: Optional[int] = None

    @property
    def num_chunks(self) -> int:
        """The fill's chunks over the batch's cells."""
        return -(-self.batch_cells // self.fill_chunk)

    def summary(self) -> str:
        if self.backward_chunk is not None:
            kept = ('' if self.keep_chunks is None else
                    f', {self.keep_chunks} of them kept with their graphs '
                    f'(+{format_bytes(self.per_kept_chunk)} each)' +
                    self._checkpointing())
            return (f'memory plan (full gradient): every one of '
                    f'{self.num_cells} cells, chunks of {self.fill_chunk} '
                    f'patches in the fill and the backward{kept}; predicted '
                    f'peak {format_bytes(self.predicted_peak)} within the '
                    f'budget of {format_bytes(self.budget)} (one-patch '
                    f'chunks {format_bytes(self.base_peak)}, +'
                    f'{format_bytes(self.per_fill_patch)} a patch in a '
                    'chunk)')
        return (f'memory plan: k={self.patches_per_iter} of '
                f'{self.num_cells} cells, fill_chunk={self.fill_chunk}; '
                f'predicted peak {format_bytes(self.predicted_peak)} within '
                f'the budget of {format_bytes(self.budget)} (one patch '
                f'step {format_bytes(self.base_peak)}, +'
                f'{format_bytes(self.per_patch)} a patch with gradients, +'
                f'{format_bytes(self.per_fill_patch)} a fill patch)')

    def _checkpointing(self) -> str:
        if self.checkpoint is None:
            return ''
        if self.checkpoint == 0:
            return ', without activation checkpointing'
        return (f', activation checkpointing of only the first '
                f'{self.checkpoint} of {self.checkpointed_modules} '
                "checkpointed modules of θ1 (without any: "
                f'{format_bytes(self.uncheckpointed_peak or 0)}, measured)')

    def step_plan_fields(self, fixed_k: bool = False) -> Dict[str, Any]:
        """What the plan decides of a :class:`~mmpatch.patchgd.StepPlan`:
        ``patches_per_iter`` (unless ``patch_cfg`` fixes k, or every cell is
        used), ``fill_chunk``, ``backward_chunk``, ``keep_chunks`` and
        ``checkpoint``."""
        full = self.backward_chunk is not None
        return dict(
            patches_per_iter=None if fixed_k or full else
            self.patches_per_iter,
            fill_chunk=self.fill_chunk,
            backward_chunk=self.backward_chunk,
            keep_chunks=self.keep_chunks,
            checkpoint=self.checkpoint)


class BudgetError(RuntimeError):
    """Even one patch per iteration does not fit the memory budget."""


class Trial:
    """One trial step of the planner: ``trial()`` runs it.

    Attributes:
        k (int): patches per image with gradients in its one inner
            iteration (every cell with ``gradient='full'``).
        fill_chunk (int): patches per forward of its fill.
        backward_chunk (int, optional): patches per chunk of its chunked
            backward (``'full'``), or None.
        keep_chunks (int): fill chunks kept with their graphs
            (``'full'``).
        checkpoint (int, optional): how many of θ1's checkpointed host
            modules keep their checkpointing, the engine's ``with_cp`` off
            (0: none); None: as configured (:class:`~mmpatch.patchgd.
            StepPlan`).
    """

    def __init__(self, run: Callable[['Trial'], None], k: int,
                 fill_chunk: int, backward_chunk: Optional[int] = None,
                 keep_chunks: int = 0,
                 checkpoint: Optional[int] = None) -> None:
        self._run, self.k = run, k
        self.fill_chunk, self.backward_chunk = fill_chunk, backward_chunk
        self.keep_chunks, self.checkpoint = keep_chunks, checkpoint

    def __call__(self) -> None:
        self._run(self)

    def __repr__(self) -> str:
        return (f'Trial(k={self.k}, fill_chunk={self.fill_chunk}, '
                f'backward_chunk={self.backward_chunk}, '
                f'keep_chunks={self.keep_chunks}, '
                f'checkpoint={self.checkpoint})')


def fit_budget(model: nn.Module,
               data_batch: Any,
               optim_wrapper,
               budget: int,
               measure: Callable[[Trial], int],
               margin: float = 0.05,
               logger: logging.Logger = None,
               fixed_k: Optional[int] = None) -> BudgetFit:
    """Measure trial steps and choose k and the chunks under ``budget``.

    The trials run :class:`~mmpatch.patchgd.step.TrainStep` with one inner
    iteration and their own k and chunks; they change neither the model's
    ``patch_cfg`` nor its step plan, and every piece of state they touch
    (weights, optimizer, gradients, BatchNorm statistics, the step counter)
    is restored afterwards.

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
        BudgetError: when one patch with one-patch chunks does not fit, or
            ``fixed_k`` does not.
    """
    from mmpatch.patchgd.layout import host_checkpointed, make_grid
    from mmpatch.patchgd.plan import StepPlan
    from mmpatch.patchgd.step import TrainStep
    cfg = model.patch_cfg
    saved = _save_state(model, optim_wrapper)
    # the grid only: padding the batch and resizing its global patch would
    # be work (and memory) the trials do themselves
    data = model.data_preprocessor(copy.deepcopy(data_batch), True)
    grid = make_grid(model, data['inputs'], data['data_samples'])
    cells = grid.num_cells
    max_chunk = max(1, min(cfg.fill_chunk, cells * grid.batch_size))
    state_before = tensor_bytes(optim_wrapper.optimizer)
    state_after = [state_before]
    trial_cfg = replace(cfg, inner_iters=1, accumulate=1)

    def step(trial: Trial) -> None:
        plan = StepPlan(
            patches_per_iter=None if cfg.full_gradient else trial.k,
            fill_chunk=trial.fill_chunk, backward_chunk=trial.backward_chunk,
            keep_chunks=trial.keep_chunks, checkpoint=trial.checkpoint)
        TrainStep(model, optim_wrapper, cfg=trial_cfg,
                  plan=plan).run(copy.deepcopy(data_batch))
        # optimizer state (momentum, Adam's moments) appears at the first
        # step and is then live during every later one; the trials restore
        # it, so its size is added to the measured base below
        state_after[0] = max(state_after[0],
                             tensor_bytes(optim_wrapper.optimizer))

    def trial(k: int, chunk: int, backward: Optional[int] = None,
              keep: int = 0, checkpoint: Optional[int] = None) -> int:
        try:
            return measure(Trial(step, k, chunk, backward, keep, checkpoint))
        finally:
            _load_state(model, optim_wrapper, saved)

    def per_extra(peak: int, base: int, extra: int) -> int:
        return max(0, peak - base) // extra if extra > 0 else 0

    try:
        if cfg.full_gradient:
            base = trial(cells, 1, 1)
            per_patch = 0
            per_fill = per_extra(trial(cells, max_chunk, max_chunk)
                                 if max_chunk > 1 else base, base,
                                 max_chunk - 1)
        else:
            base = trial(1, 1)
            per_patch = per_extra(trial(2, 1) if cells > 1 else base, base, 1)
            per_fill = per_extra(trial(1, max_chunk) if max_chunk > 1 else
                                 base, base, max_chunk - 1)
    finally:
        _load_state(model, optim_wrapper, saved)
    base += max(0, state_after[0] - state_before)
    usable = int(budget * (1 - margin))
    if base > usable:
        raise BudgetError(
            f'memory_budget={format_bytes(budget)} is too small: one '
            f'training step with a single {cfg.patch_size[0]}x'
            f'{cfg.patch_size[1]} patch per forward already needs '
            f'{format_bytes(base)} (measured, {cells} cells per image, batch '
            f'of {grid.batch_size}, {int(margin * 100)}% margin). Raise the '
            'budget, or lower: patch_cfg.patch_size, latent_channels (the '
            'size of Z), the batch size, or the image size.')
    plan = _choose(cfg.full_gradient, budget, usable, base, per_patch,
                   per_fill, cells, max_chunk, fixed_k, margin)
    plan.batch_cells = cells * grid.batch_size
    if cfg.full_gradient and cfg.keep_chunks is None:
        extra = max(0, state_after[0] - state_before)
        _fit_kept_chunks(plan, lambda keep: trial(
            cells, plan.fill_chunk, plan.fill_chunk, keep) + extra, usable)
        modules = len(host_checkpointed(model.patch_encoder_modules()))
        if plan.keep_chunks == plan.num_chunks and (cfg.with_cp or modules):
            _fit_checkpointing(plan, lambda n: trial(
                cells, plan.fill_chunk, plan.fill_chunk, plan.keep_chunks,
                checkpoint=n) + extra, usable, modules, cfg.with_cp)
    if logger is not None:
        logger.info(plan.summary())
    return plan


def _choose(full: bool, budget: int, usable: int, base: int, per_patch: int,
            per_fill: int, cells: int, max_chunk: int,
            fixed_k: Optional[int], margin: float) -> BudgetFit:
    """The largest chunk, then the largest k, whose predicted peak fits."""

    def predict(k: int, chunk: int) -> int:
        return base + per_patch * (k - 1) + per_fill * (chunk - 1)

    least_k = 1 if fixed_k is None else min(fixed_k, cells)
    chunk = max_chunk
    while chunk > 1 and predict(least_k, chunk) > usable:
        chunk -= 1
    if full:
        k = cells
    else:
        room = usable - predict(1, chunk)
        k = int(max(1, min(1 + (room // per_patch if per_patch else cells),
                           cells)))
    if fixed_k is not None and not full:
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
    return BudgetFit(
        budget=budget,
        patches_per_iter=k,
        fill_chunk=chunk,
        predicted_peak=predict(1 if full else k, chunk),
        base_peak=base,
        per_patch=per_patch,
        per_fill_patch=per_fill,
        num_cells=cells,
        backward_chunk=chunk if full else None)


def _fit_kept_chunks(plan: BudgetFit, peak: Callable[[int], int],
                     usable: int) -> None:
    """Keep as many of the fill's chunks with their graphs as the budget
    holds (``'full'``): the peak with one kept chunk less the peak with
    none, measured at the chosen chunk, is the cost of each. That cost is
    not linear (as more graphs are held the step's peak moves from the fill
    to the backward), so the number chosen is measured too, and fewer are
    kept until the measured step fits."""
    peak = lru_cache(maxsize=None)(peak)  # each count measured once
    none = max(plan.predicted_peak, peak(0))
    per_kept = max(0, peak(1) - peak(0))
    keep = plan.num_chunks if per_kept == 0 else int(
        max(0, min(plan.num_chunks, (usable - none) // per_kept)))
    while keep > 0 and peak(keep) > usable:
        keep -= 1
    plan.keep_chunks, plan.per_kept_chunk = keep, per_kept
    plan.predicted_peak = max(none, peak(keep))


def _fit_checkpointing(plan: BudgetFit, peak: Callable[[int], int],
                       usable: int, modules: int, engine_cp: bool) -> None:
    """With every chunk kept, keep only the activation checkpointing the
    budget needs: none if the measured step without any fits; else the
    fewest of θ1's ``modules`` checkpointed host modules, the first in
    forward order (the finest maps: the most memory a recomputed forward
    saves), with which it fits, the engine's own ``with_cp`` (the global
    patch) off. Each module that is not checkpointed runs forward once
    less. The peak falls as more are kept: the fewest is found by
    bisection, each count measured once (``peak(n)``)."""
    measured = lru_cache(maxsize=None)(peak)

    def peak_with(n: int) -> int:  # every module kept: the configured step
        kept_all = n == modules and not engine_cp
        return plan.predicted_peak if kept_all else measured(n)

    plan.checkpointed_modules = modules
    plan.uncheckpointed_peak = peak_with(0)
    low, high = -1, 0  # low does not fit, high does
    if peak_with(0) > usable:
        if modules == 0 or peak_with(modules) > usable:
            return
        low, high = 0, modules
    while high - low > 1:
        mid = (low + high) // 2
        low, high = (low, mid) if peak_with(mid) <= usable else (mid, high)
    if high == modules and not engine_cp:
        return  # the step as configured
    plan.checkpoint = high
    plan.predicted_peak = max(plan.predicted_peak, peak_with(high))


def _save_state(model: nn.Module, optim_wrapper) -> Dict[str, Any]:
    """What the trials change, copied to the host: copies on the device
    would count in the trials' own peak (``max_memory_allocated``)."""
    return dict(
        model={k: v.detach().to('cpu', copy=True)
               for k, v in model.state_dict().items()},
        optim=_to_host(optim_wrapper.state_dict()),
        inner_count=optim_wrapper.inner_count,
        stats=model.last_step_stats,
        grads={
            n: None if p.grad is None else p.grad.detach().to('cpu',
                                                              copy=True)
            for n, p in model.named_parameters()
        })


def _to_host(obj: Any) -> Any:
    """``obj`` with every tensor copied to the host (nested dicts/lists)."""
    if isinstance(obj, torch.Tensor):
        return obj.detach().to('cpu', copy=True)
    if isinstance(obj, dict):
        return {k: _to_host(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_to_host(v) for v in obj)
    return copy.deepcopy(obj)


def _load_state(model: nn.Module, optim_wrapper, saved: Dict[str,
                                                            Any]) -> None:
    model.load_state_dict(saved['model'])
    # the optimizer casts its state to each parameter's device
    optim_wrapper.load_state_dict(_to_host(saved['optim']))
    set_inner_count(optim_wrapper, saved['inner_count'])
    model.record_step(saved['stats'])
    for n, p in model.named_parameters():
        grad = saved['grads'][n]
        p.grad = None if grad is None else grad.to(p.device, copy=True)
