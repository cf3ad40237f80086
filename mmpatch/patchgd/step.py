"""The PatchGD training step, as small named phases (docs/method.md).

:class:`TrainStep` runs one step of a :class:`~mmpatch.patchgd.mixin.
PatchGDMixin` model through mmengine's ``OptimWrapper`` (so AMP, gradient
clipping and parameter schedulers keep working)::

    prepare      preprocess the batch, lay the grid, resize the global patch
    fill         Z without gradients (or the latent cache's copy)
    sample       the cell plan of each inner iteration (``'full'``: one
                 iteration over every cell)
    iterate      for each plan: the cells' new features in Z, θ2 and the
                 loss, check it is finite, backward; either in one pass
                 (the cells encoded with gradients and scattered into Z) or
                 chunked (:class:`~mmpatch.patchgd.chunked.ChunkedBackward`:
                 Z as leaves, θ2's backward gives dL/dZ, the cells are
                 re-encoded a chunk at a time and back-propagated with it)
    close        at the end of each accumulation window: the deferred global
                 backward, gradient sync (DDP), optimizer step, zero grad
    finish       store Z in the cache, count the step, record its figures
"""
import time
from collections import OrderedDict
from contextlib import nullcontext
from typing import (TYPE_CHECKING, Any, Callable, Dict, List, NamedTuple,
                    Optional)

import torch
from torch import Tensor

from mmpatch.utils.optim_wrapper import accumulative_counts
from .chunked import ChunkedBackward
from .grid import CellIndex, PatchGrid
from .latent import LatentBuffer
from .norm import (eval_batch_norms, has_train_batch_norm, norm_state,
                   restore_norm_state)
from .config import PatchGDConfig
from .plan import StepPlan, StepStats

if TYPE_CHECKING:
    from .mixin import PatchGDMixin


class Batch(NamedTuple):
    """One preprocessed batch, laid on its grid."""
    pixels: Any  # the grid-padded batch: a tensor or a MappedBatch
    samples: list
    grid: PatchGrid
    image: Optional[Tensor]  # the global patches (B, C, gh, gw), or None


class GlobalBranch:
    """θ1 on the global patch under ``patch_cfg.global_grad``.

    * ``'every'``: a forward with gradients in every inner iteration;
    * ``'none'``: a forward without gradients in every inner iteration;
    * ``'once'``: one forward with gradients per accumulation window; θ2
      reads detached leaves and their gradients are back-propagated into θ1
      once, when the window closes.
    """

    def __init__(self, model: 'PatchGDMixin', image: Optional[Tensor],
                 mode: str) -> None:
        self.model, self.image, self.mode = model, image, mode
        self.feats: List[Tensor] = []
        self.leaves: Optional[List[Tensor]] = None

    def features(self) -> List[Tensor]:
        """G for this inner iteration, per level ``(B, C_l, gh, gw)``."""
        if self.mode == 'every':
            return self.model.global_features(self.image)
        if self.mode == 'none':
            with torch.no_grad():
                return self.model.global_features(self.image)
        if self.leaves is None:  # 'once': the window's first iteration
            self.feats = self.model.global_features(self.image)
            self.leaves = [g.detach().requires_grad_() for g in self.feats]
        return self.leaves

    def close_window(self) -> None:
        """Back-propagate the window's accumulated gradient of G (``'once'``)."""
        if self.leaves is None:
            return
        pairs = [(f, g.grad) for f, g in zip(self.feats, self.leaves)
                 if g.grad is not None]
        if pairs:
            torch.autograd.backward(*zip(*pairs))
        self.feats, self.leaves = [], None


class TrainStep:
    """One PatchGD training step of ``model``.

    Args:
        model (PatchGDMixin): the model (unwrapped).
        optim_wrapper: the runner's ``OptimWrapper``.
        grad_sync (callable, optional): averages gradients over ranks,
            called once before each optimizer step (the DDP wrapper's).
        cfg (PatchGDConfig, optional): options in place of the model's
            ``patch_cfg`` (the memory planner's trial steps).
        plan (StepPlan, optional): in place of the model's ``step_plan``.
    """

    def __init__(self,
                 model: 'PatchGDMixin',
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
        """Preprocess (under the wrapper's autocast), lay the grid, and
        resize the global patch once: it depends on the pixels only."""
        model = self.model
        with self.optim_wrapper.optim_context(model):
            data = model.data_preprocessor(data, True)
        inputs, samples = data['inputs'], data['data_samples']
        grid = model.make_grid(inputs, samples)
        return Batch(grid.pad(inputs), samples, grid,
                     model.global_image(inputs, grid))

    def fill(self, batch: Batch) -> 'tuple[LatentBuffer, bool]':
        """Z of the batch, and whether it came from the latent cache."""
        cache = self.plan.cache
        cached = (cache.lookup(batch.samples, batch.grid, batch.pixels.device)
                  if cache is not None else None)
        if cached is not None:
            return LatentBuffer(batch.grid, cached), True
        with self.optim_wrapper.optim_context(self.model):
            return self.model.fill_latent(
                batch.pixels, batch.grid,
                self.plan.fill_chunk_for(self.cfg)), False

    def sample(self, batch: Batch, k: int) -> List[Tensor]:
        """The ``(B, k)`` cell plan of each inner iteration."""
        grid = batch.grid
        plans = self.model.patch_sampler.plan(
            grid.num_cells, k, self.cfg.inner_iters,
            self.model.sampler_generators(grid.batch_size))
        return [p.to(batch.pixels.device) for p in plans]

    def encode_cells(self, batch: Batch, latent: LatentBuffer,
                     cells: Tensor) -> 'tuple[LatentBuffer, list]':
        """θ1 with gradients on ``cells``, written into Z's own storage
        (no whole-image copy per iteration); returns Z carrying autograd
        history to those cells, and the values they replaced."""
        if not cells.numel():  # 'disjoint' ran out of cells: θ2, G learn
            return latent.detach(), []
        grid = batch.grid
        feats = self.model.checkpointed(
            self.model.encode_patches,
            grid.gather(batch.pixels, grid.index(cells)))
        return latent.scatter_(cells, feats)

    def check_finite(self, loss: Tensor, log_vars: dict, inner: int,
                     batch: Batch, norms: Dict[str, Tensor]) -> None:
        """Stop before a NaN/inf loss reaches the weights; BatchNorm
        statistics that the failed forward already wrote are restored."""
        if not self.cfg.check_finite or torch.isfinite(loss):
            return
        restore_norm_state(self.model, norms)
        self.optim_wrapper.zero_grad()
        raise FloatingPointError(
            nonfinite_message(log_vars, inner, int(self.model.patchgd_step),
                              batch.samples,
                              inner // self.cfg.accumulate > 0))

    def close_window(self, branch: GlobalBranch) -> None:
        """End an accumulation window: the deferred global backward, one
        gradient sync, one optimizer step."""
        branch.close_window()
        if self.grad_sync is not None:
            self.grad_sync()
        self.optim_wrapper.step()
        self.optim_wrapper.zero_grad()

    def check_chunks(self, chunk: Optional[int]) -> None:
        """``'full'`` with θ1's BatchNorm in train mode: both passes must
        use the same chunks, or they compute different features."""
        fill = self.plan.fill_chunk_for(self.cfg)
        if (self.cfg.full_gradient and self.cfg.bn_mode == 'train'
                and chunk != fill
                and has_train_batch_norm(self.model.patch_encoder_modules())):
            raise ValueError(
                f"patch_cfg.gradient='full' with bn_mode='train' normalises "
                'each chunk of patches by its own statistics, so the '
                f'backward chunk ({chunk}) must equal the fill chunk ({fill}) '
                'for both passes to compute the same features: set '
                "backward_chunk equal to fill_chunk, or bn_mode='eval'")

    def norm_mode(self):
        """``'full'`` with ``bn_mode='eval'``: θ1's BatchNorm in eval mode
        for the whole step (both passes and the global patch)."""
        if self.cfg.full_gradient and self.cfg.bn_mode == 'eval':
            return eval_batch_norms(self.model.patch_encoder_modules())
        return nullcontext()

    def iterate(self, j: int, batch: Batch, latent: LatentBuffer,
                cells: Optional[Tensor], chunk: Optional[int],
                branch: GlobalBranch, norms: Dict[str, Tensor],
                window: int, cache_hit: bool) -> 'tuple[LatentBuffer, dict]':
        """One inner iteration over ``cells`` (None: every cell, whose
        features Z already holds); returns Z and the iteration's log."""
        model, optim, grid = self.model, self.optim_wrapper, batch.grid
        chunked = None
        if chunk is not None:
            index = (grid.index(cells) if cells is not None else CellIndex.span(
                0, grid.num_cells * grid.batch_size, grid.num_cells,
                batch.pixels.device))
            chunked = ChunkedBackward(model, batch.pixels, index, chunk, optim)
        with optim.optim_context(model):
            if chunked is None:
                current, replaced = self.encode_cells(batch, latent, cells)
            else:
                replaced = (chunked.encode(latent)
                            if cells is not None and cells.numel() else [])
                current = latent.leaves()
            losses = model.loss_by_latent(current, branch.features(),
                                          batch.samples)
        loss, log_vars = model.parse_losses(losses)
        self.check_finite(loss, log_vars, j, batch, norms)
        optim.backward(loss / window)
        if chunked is not None and (cells is None or cells.numel()):
            chunked.backward(current, write_back=cells is None and cache_hit)
        if ends_window(j, self.cfg.inner_iters, self.cfg.accumulate):
            self.close_window(branch)
        if self.cfg.keep_updates or cells is None:
            return current.detach(), log_vars
        latent.restore_(cells, replaced)  # the next starts from the fill's Z
        return latent, log_vars

    # -------------------------------------------------------------------- run
    def run(self, data: Any) -> Dict[str, Tensor]:
        """The whole step; returns the inner iterations' mean log values."""
        cfg, model = self.cfg, self.model
        t0 = time.perf_counter()
        # a non-finite forward writes NaN into BatchNorm running statistics
        # before the loss can be checked: keep them to restore on failure
        norms = norm_state(model) if cfg.check_finite else {}
        chunk = self.plan.backward_chunk_for(cfg)
        self.check_chunks(chunk)
        with self.norm_mode():
            batch = self.prepare(data)
            latent, cache_hit = self.fill(batch)
            fill_s = time.perf_counter() - t0
            grid = batch.grid
            if cfg.full_gradient:
                k, plans = grid.num_cells, [None]
            else:
                k = self.plan.patches_for(cfg, grid.num_cells,
                                          grid.batch_shape)
                plans = self.sample(batch, k)
            windows = window_lengths(cfg.inner_iters, cfg.accumulate)
            branch = GlobalBranch(model, batch.image, cfg.global_grad)
            sums: Dict[str, Tensor] = OrderedDict()
            for j, cells in enumerate(plans):
                latent, log_vars = self.iterate(j, batch, latent, cells, chunk,
                                                branch, norms, windows[j],
                                                cache_hit)
                for key, value in log_vars.items():
                    sums[key] = sums.get(key, 0) + value.detach()
        if self.plan.cache is not None:
            self.plan.cache.store(batch.samples, grid, latent.maps,
                                  not cache_hit)
        model.patchgd_step += 1
        model.record_step(
            StepStats(fill_s=fill_s, step_s=time.perf_counter() - t0,
                      latent_bytes=latent.nbytes, patches_per_iter=k,
                      grid=(grid.rows, grid.cols), cache_hit=cache_hit,
                      gradient=cfg.gradient, backward_chunk=chunk))
        return OrderedDict(
            (key, value / len(plans)) for key, value in sums.items())


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
