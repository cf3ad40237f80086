"""The PatchGD training step, as small named phases (docs/method.md).

:class:`TrainStep` runs one step of a :class:`~mmpatch.patchgd.contract.
PatchAdapter` through mmengine's ``OptimWrapper`` (so AMP, gradient
clipping and parameter schedulers keep working)::

    prepare      preprocess the batch and lay it out (grid, padding, global
                 patch: :func:`~mmpatch.patchgd.layout.lay_out`)
    fill         Z without gradients (or the latent cache's copy)
    iterations   the cells of each inner iteration (``'full'``: one
                 iteration over every cell)
    iterate      for each: the cells' new features in Z, θ2 and the loss,
                 check it is finite, backward; either in one pass (the cells
                 encoded with gradients and scattered into Z) or chunked
                 (:class:`~mmpatch.patchgd.latent.ChunkedBackward`: Z as
                 leaves, θ2's backward gives dL/dZ, the cells are re-encoded
                 a chunk at a time and back-propagated with it)
    close_window at the end of each accumulation window: the deferred global
                 backward, gradient sync (DDP), optimizer step, zero grad
    finish       store Z in the cache, count the step, record its figures

Each phase is announced to a listener, if any (:mod:`~mmpatch.patchgd.
phases`).
"""
import time
from collections import OrderedDict
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Tuple

import torch
from mmengine.dist import get_rank
from torch import Tensor

from mmpatch.utils.optim_wrapper import accumulative_counts
from .config import PatchGDConfig
from .contract import PatchAdapter
from .grid import CellIndex
from .latent import ChunkedBackward, LatentBuffer
from .layout import (Batch, global_features, lay_out_data, patch_encoder,
                     uncheckpointed_host)
from .norm import (eval_batch_norms, has_train_batch_norm, norm_state,
                   restore_norm_state)
from .phases import phase
from .plan import StepPlan, StepStats


class GlobalBranch:
    """θ1 on the global patch under ``patch_cfg.global_grad``.

    * ``'every'``: a forward with gradients in every inner iteration;
    * ``'none'``: a forward without gradients in every inner iteration;
    * ``'once'``: one forward with gradients per accumulation window; θ2
      reads detached leaves and their gradients are back-propagated into θ1
      once, when the window closes.
    """

    def __init__(self, model: PatchAdapter, image: Optional[Tensor],
                 mode: str, with_cp: bool) -> None:
        self.model, self.image, self.mode = model, image, mode
        self.with_cp = with_cp
        self.feats: List[Tensor] = []
        self.leaves: Optional[List[Tensor]] = None

    def features(self) -> List[Tensor]:
        """G for this inner iteration, per level ``(B, C_l, gh, gw)``."""
        if self.mode == 'every':
            return global_features(self.model, self.image, self.with_cp)
        if self.mode == 'none':
            with torch.no_grad():
                return global_features(self.model, self.image)
        if self.leaves is None:  # 'once': the window's first iteration
            self.feats = global_features(self.model, self.image,
                                         self.with_cp)
            self.leaves = [g.detach().requires_grad_() for g in self.feats]
        return self.leaves

    def close_window(self) -> None:
        """Back-propagate the window's accumulated gradient of G (``'once'``)."""
        if self.leaves is None:
            return
        pairs = [(f, g.grad) for f, g in zip(self.feats, self.leaves)
                 if g.grad is not None]
        if pairs:
            with phase('global_backward'):
                torch.autograd.backward(*zip(*pairs))
        self.feats, self.leaves = [], None


@dataclass
class StepContext:
    """What the inner iterations of one step share.

    Attributes:
        batch: the laid-out batch.
        encode: θ1 with gradients on patches (checkpointed with
            ``with_cp``).
        branch: the global patch's θ1 pass.
        norms: BatchNorm buffers to put back after a non-finite loss.
        chunked: θ1's chunked encoding and backward; None: the cells are
            encoded with gradients in one pass.
        cache_hit: whether Z came from the latent cache.
    """
    batch: Batch
    encode: Callable[[Tensor], List[Tensor]]
    branch: GlobalBranch
    norms: Dict[str, Tensor]
    chunked: Optional[ChunkedBackward]
    cache_hit: bool


@dataclass(frozen=True)
class InnerIteration:
    """One inner iteration of a step.

    Attributes:
        number: j, from 0.
        cells: the ``(B, k_j)`` cells it re-encodes with gradients (``k_j``
            may be 0 once a ``'disjoint'`` sampler has used every cell).
        every_cell: ``gradient='full'``: ``cells`` is every cell, whose
            features Z already holds from the fill.
        window: length of the accumulation window it belongs to.
    """
    number: int
    cells: Tensor
    every_cell: bool
    window: int

    @property
    def has_cells(self) -> bool:
        return bool(self.cells.numel())


class TrainStep:
    """One PatchGD training step of ``model``.

    Args:
        model (PatchAdapter): the model (unwrapped).
        optim_wrapper: the runner's ``OptimWrapper``.
        grad_sync (callable, optional): averages gradients over ranks,
            called once before each optimizer step (the DDP wrapper's).
        cfg (PatchGDConfig, optional): options in place of the model's
            ``patch_cfg`` (the memory planner's trial steps).
        plan (StepPlan, optional): in place of the model's ``step_plan``.
    """

    def __init__(self,
                 model: PatchAdapter,
                 optim_wrapper,
                 grad_sync: Optional[Callable[[], None]] = None,
                 cfg: Optional[PatchGDConfig] = None,
                 plan: Optional[StepPlan] = None) -> None:
        if accumulative_counts(optim_wrapper) != 1:
            raise ValueError(
                'optim_wrapper.accumulative_counts must be 1 for mmpatch '
                'models: the inner loop accumulates gradients itself; set '
                'patch_cfg.accumulate instead')
        self.model = model
        self.cfg = cfg or model.patch_cfg
        self.plan = plan or model.step_plan
        self.optim_wrapper = optim_wrapper
        self.grad_sync = grad_sync

    # ----------------------------------------------------------------- phases
    def prepare(self, data: Any) -> Batch:
        """Preprocess (under the wrapper's autocast) and lay the batch out."""
        return lay_out_data(self.model, data,
                            self.optim_wrapper.optim_context(self.model))

    def fill(self, batch: Batch, chunked: Optional[ChunkedBackward]
             ) -> Tuple[LatentBuffer, bool]:
        """Z of the batch, and whether it came from the latent cache. With
        kept chunks (``'full'``) ``chunked`` fills and keeps their graphs."""
        cache = self.plan.cache
        cached = (cache.lookup(batch.samples, batch.grid, batch.pixels.device)
                  if cache is not None else None)
        if cached is None:
            model, cfg = self.model, self.cfg
            norms = (model.patch_encoder_modules()
                     if cfg.eval_norms_in_fill else ())
            chunk, keep = (self.plan.fill_chunk_for(cfg),
                           self.plan.keep_chunks_for(cfg))
            with self.optim_wrapper.optim_context(model):
                if keep:
                    return chunked.fill(batch.grid, batch.pixels, chunk, keep,
                                        norms), False
                return LatentBuffer.fill_without_grad(
                    batch.grid, batch.pixels, model.encode_patches, chunk,
                    norms), False
        return LatentBuffer(batch.grid, cached), True

    def iterations(self, batch: Batch) -> List[InnerIteration]:
        """The inner iterations of the step: one over every cell
        (``'full'``), or ``inner_iters`` over sampled cells."""
        cfg, grid, device = self.cfg, batch.grid, batch.pixels.device
        if cfg.full_gradient:
            return [InnerIteration(0, grid.all_cells(device), True, 1)]
        k = self.plan.patches_for(cfg, grid.num_cells, grid.batch_shape)
        sampler = self.model.patch_sampler
        with phase('sample'):
            generators = sampler.generators(
                int(self.model.patchgd_step), get_rank() * grid.batch_size,
                grid.batch_size)
            selections = sampler.select(grid.num_cells, k, cfg.inner_iters,
                                        generators)
        windows = window_lengths(cfg.inner_iters, cfg.accumulate)
        return [
            InnerIteration(j, cells.to(device), False, windows[j])
            for j, cells in enumerate(selections)
        ]

    def encode_cells(self, ctx: StepContext, latent: LatentBuffer,
                     index: CellIndex) -> Tuple[LatentBuffer, list]:
        """θ1 with gradients on the cells of ``index``, written into Z's
        own storage (no whole-image copy per iteration); returns Z carrying
        autograd history to those cells, and the values they replaced.
        Without cells (``'disjoint'`` ran out) θ2 and G still learn."""
        feats: List[Tensor] = []
        if len(index):
            with phase('patch_encode'):
                feats = ctx.encode(
                    ctx.batch.grid.gather(ctx.batch.pixels, index))
        with phase('scatter'):
            return latent.scatter_(index, feats)

    def check_finite(self, loss: Tensor, log_vars: dict, ctx: StepContext,
                     it: InnerIteration) -> None:
        """Stop before a NaN/inf loss reaches the weights; BatchNorm
        statistics that the failed forward already wrote are restored."""
        if not self.cfg.check_finite or torch.isfinite(loss):
            return
        restore_norm_state(self.model, ctx.norms)
        self.optim_wrapper.zero_grad()
        raise FloatingPointError(
            nonfinite_message(log_vars, it.number,
                              int(self.model.patchgd_step), ctx.batch.samples,
                              it.number // self.cfg.accumulate > 0))

    def close_window(self, branch: GlobalBranch) -> None:
        """End an accumulation window: the deferred global backward, one
        gradient sync, one optimizer step."""
        branch.close_window()
        if self.grad_sync is not None:
            self.grad_sync()
        with phase('optim_step'):
            self.optim_wrapper.step()
            self.optim_wrapper.zero_grad()

    def check_chunks(self, chunk: Optional[int]) -> None:
        """``'full'`` with θ1's BatchNorm in train mode: both passes must
        use the same chunks, or they compute different features."""
        fill = self.plan.fill_chunk_for(self.cfg)
        if (self.cfg.full_gradient and not self.cfg.eval_norms_in_step
                and chunk != fill
                and has_train_batch_norm(self.model.patch_encoder_modules())):
            raise ValueError(
                f"patch_cfg.gradient='full' with full_bn_mode='train' "
                'normalises each chunk of patches by its own statistics, so '
                f'the backward chunk ({chunk}) must equal the fill chunk '
                f'({fill}) for both passes to compute the same features: set '
                "backward_chunk equal to fill_chunk, or full_bn_mode='eval'")

    def chunked_backward(self,
                         chunk: Optional[int]) -> Optional[ChunkedBackward]:
        """θ1's chunked encoding and backward, ``chunk`` patches at a time
        (None: one pass with gradients)."""
        if chunk is None:
            return None
        model, optim = self.model, self.optim_wrapper
        return ChunkedBackward(model.encode_patches,
                               model.patch_encoder_modules(), chunk,
                               lambda: optim.optim_context(model))

    def norm_mode(self):
        """``'full'`` with ``full_bn_mode='eval'``: θ1's BatchNorm in eval
        mode for the whole step (both passes and the global patch)."""
        if self.cfg.eval_norms_in_step:
            return eval_batch_norms(self.model.patch_encoder_modules())
        return nullcontext()

    def host_checkpointing(self):
        """The plan's ``checkpoint=n``: θ1's host modules after the first n
        without their own activation checkpointing for the step."""
        if self.plan.checkpoint is not None:
            return uncheckpointed_host(self.model.patch_encoder_modules(),
                                       self.plan.checkpoint)
        return nullcontext()

    def iterate(self, ctx: StepContext, it: InnerIteration,
                latent: LatentBuffer) -> Tuple[LatentBuffer, dict]:
        """One inner iteration; returns Z and the iteration's log."""
        model, optim, chunked = self.model, self.optim_wrapper, ctx.chunked
        # the (image, cell) pairs, made here: the memory planner's trial
        # steps hold one iteration's at a time, and so must the step
        index = ctx.batch.grid.index(it.cells)
        with optim.optim_context(model):
            if chunked is None:
                current, replaced = self.encode_cells(ctx, latent, index)
            else:
                replaced = (chunked.encode(latent, ctx.batch.pixels, index)
                            if it.has_cells and not it.every_cell else [])
                current = latent.leaves()
            feats = ctx.branch.features()
            with phase('head_loss'):
                losses = model.loss_by_latent(current, feats,
                                              ctx.batch.samples)
            # the graph keeps what the backward needs of G; a name for it
            # would hold it through θ1's chunked backward too
            del feats
        loss, log_vars = model.parse_losses(losses)
        self.check_finite(loss, log_vars, ctx, it)
        with phase('backward'):
            optim.backward(loss / it.window)
        if chunked is not None and it.has_cells:
            chunked.backward(current, ctx.batch.pixels, index,
                             write_back=it.every_cell and ctx.cache_hit)
        if ends_window(it.number, self.cfg.inner_iters, self.cfg.accumulate):
            self.close_window(ctx.branch)
        if self.cfg.keep_updates or it.every_cell:
            return current.detach(), log_vars
        latent.restore_(index, replaced)  # the next starts from the fill
        return latent, log_vars

    def finish(self, ctx: StepContext, latent: LatentBuffer,
               iterations: List[InnerIteration], fill_s: float,
               t0: float) -> None:
        """Store Z in the cache, count the step, record its figures."""
        grid = ctx.batch.grid
        if self.plan.cache is not None:
            self.plan.cache.store(ctx.batch.samples, grid, latent.maps,
                                  not ctx.cache_hit)
        self.model.patchgd_step += 1
        self.model.record_step(
            StepStats(fill_s=fill_s, step_s=time.perf_counter() - t0,
                      latent_bytes=latent.nbytes,
                      patches_per_iter=iterations[0].cells.shape[1],
                      grid=(grid.rows, grid.cols), cache_hit=ctx.cache_hit,
                      gradient=self.cfg.gradient,
                      backward_chunk=ctx.chunked and ctx.chunked.chunk,
                      kept_chunks=ctx.chunked.num_kept if ctx.chunked else 0))

    # -------------------------------------------------------------------- run
    def run(self, data: Any) -> Dict[str, Tensor]:
        """The whole step; returns the inner iterations' mean log values."""
        t0 = time.perf_counter()
        # a non-finite forward writes NaN into BatchNorm running statistics
        # before the loss can be checked: keep them to restore on failure
        norms = norm_state(self.model) if self.cfg.check_finite else {}
        chunk = self.plan.backward_chunk_for(self.cfg)
        self.check_chunks(chunk)
        with_cp = self.plan.with_cp_for(self.cfg)
        with self.norm_mode(), self.host_checkpointing():
            batch = self.prepare(data)
            chunked = self.chunked_backward(chunk)
            latent, cache_hit = self.fill(batch, chunked)
            fill_s = time.perf_counter() - t0
            iterations = self.iterations(batch)
            ctx = StepContext(
                batch, patch_encoder(self.model, with_cp),
                GlobalBranch(self.model, batch.image, self.cfg.global_grad,
                             with_cp), norms, chunked, cache_hit)
            sums: Dict[str, Tensor] = OrderedDict()
            for it in iterations:
                latent, log_vars = self.iterate(ctx, it, latent)
                for key, value in log_vars.items():
                    sums[key] = sums.get(key, 0) + value.detach()
        self.finish(ctx, latent, iterations, fill_s, t0)
        return OrderedDict((key, value / len(iterations))
                           for key, value in sums.items())


def window_lengths(inner_iters: int, accumulate: int) -> List[int]:
    """Length of the accumulation window each inner iteration belongs to."""
    out = []
    for start in range(0, inner_iters, accumulate):
        n = min(accumulate, inner_iters - start)
        out += [n] * n
    return out


def ends_window(j: int, inner_iters: int, accumulate: int) -> bool:
    """Whether inner iteration ``j`` closes its accumulation window."""
    return (j + 1) % accumulate == 0 or j + 1 == inner_iters


def nonfinite_message(log_vars: dict, inner: int, step: int,
                      data_samples: Optional[list],
                      stepped_before: bool) -> str:
    """The error of a non-finite loss: its terms, the images, the fix."""
    terms = ', '.join(f'{k}={float(v.detach()):.4g}'
                      for k, v in log_vars.items())
    paths = [
        s.metainfo.get('img_path', '?') for s in (data_samples or [])
        if hasattr(s, 'metainfo')
    ]
    updated = ('earlier accumulation windows of this step already updated '
               'the weights; this one did not' if stepped_before else
               'the weights and BatchNorm statistics were not updated')
    return (f'non-finite loss at training step {step}, inner iteration '
            f'{inner}: {terms}; inputs: {paths}. {updated}. Lower the '
            'learning rate, enable gradient clipping '
            '(optim_wrapper.clip_grad) or check these images and their '
            'annotations.')
