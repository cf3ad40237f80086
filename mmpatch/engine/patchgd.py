"""The PatchGD training step and whole-image inference shared by all tasks."""
import time
from collections import OrderedDict
from contextlib import contextmanager
from typing import (Any, Dict, Iterable, Iterator, List, Optional, Sequence,
                    Tuple)

import torch
from torch import Tensor, nn
from torch.nn.modules.batchnorm import _BatchNorm

from .config import PatchGDConfig
from .grid import PatchGrid
from .latent import LatentBuffer
from .sampler import PatchSampler, image_generator


class PatchGDMixin:
    """PatchGD for an mmengine ``BaseModel``; task models are thin adapters.

    A task model inherits ``(PatchGDMixin, <host library base model>)``, calls
    :meth:`init_patchgd` in ``__init__`` and implements:

    * :meth:`encode_patches`: θ1, ``(N, C, ph, pw)`` patches -> one
      ``(N, C_l, fh_l, fw_l)`` map per level;
    * :meth:`loss_by_latent`: fuse Z with the global features, run θ2 and
      the host library's loss;
    * :meth:`predict_by_latent`: the same, ending in the host library's
      post-processing.

    The mixin owns everything else: the grid, the fill, the sampler, the
    inner loop driven through the ``OptimWrapper`` (so AMP, clipping and
    schedulers keep working), and whole-image inference. ``loss()`` (what
    ``forward(mode='loss')`` calls) is the plain computation over every
    patch with gradients: the reference that PatchGD must equal when
    ``k = m * n`` and ``I = 1``.
    """

    patch_cfg: PatchGDConfig

    def init_patchgd(self, patch_cfg: Optional[dict]) -> None:
        """Validate ``patch_cfg`` and set up the sampler and counters."""
        self.patch_cfg = PatchGDConfig.build(patch_cfg)
        self.patch_sampler = PatchSampler(self.patch_cfg.sampling)
        # training steps taken; saved with the weights so that a resumed run
        # samples the cells the uninterrupted run would have sampled
        self.register_buffer(
            'patchgd_step', torch.zeros((), dtype=torch.long), persistent=True)
        self._sampler_seed: Optional[int] = self.patch_cfg.seed
        #: figures of the last step, read by LatentBufferHook
        self.patch_stats: Dict[str, Any] = {}
        #: a HostLatentCache, set by LatentBufferHook when configured
        self.latent_cache = None

    # --------------------------------------------------- task adapter's part
    def encode_patches(self, patches: Tensor) -> Sequence[Tensor]:
        """θ1: ``(N, C, ph, pw)`` -> per level ``(N, C_l, fh_l, fw_l)``."""
        raise NotImplementedError

    def encode_global(self, image: Tensor) -> Sequence[Tensor]:
        """θ1 on the global patch ``(B, C, gh, gw)``; θ1 itself by default."""
        return self.encode_patches(image)

    def loss_by_latent(self, latent: LatentBuffer, global_feats: List[Tensor],
                       data_samples: list) -> Dict[str, Tensor]:
        raise NotImplementedError

    def predict_by_latent(self, latent: LatentBuffer,
                          global_feats: List[Tensor],
                          data_samples: list) -> list:
        raise NotImplementedError

    def patch_encoder_modules(self) -> List[nn.Module]:
        """Modules of θ1, whose BatchNorm ``bn_mode`` governs in the fill."""
        return [self]

    @property
    def uses_global_patch(self) -> bool:
        """False for PatchGD without the global patch (a baseline)."""
        return True

    @contextmanager
    def probing(self) -> Iterator[None]:
        """Eval mode without gradients, for shape probes at build time.

        BatchNorm in train mode fails on a 1-sample, 1x1 map; the caller's
        mode is restored afterwards.
        """
        was_training = self.training
        self.eval()
        try:
            with torch.no_grad():
                yield
        finally:
            self.train(was_training)

    # ----------------------------------------------------------------- pieces
    def make_grid(self, inputs: Tensor,
                  data_samples: Optional[list]) -> PatchGrid:
        """The patch grid over a preprocessed batch ``(B, C, H, W)``."""
        B, _, H, W = inputs.shape
        valid = None
        if data_samples:
            valid = [
                tuple(s.metainfo.get('img_shape', (H, W)))[:2]
                for s in data_samples
            ]
        # a DeferredNormalization preprocessor leaves the batch uint8; the
        # grid normalises each patch as it reads it
        normalize = getattr(self.data_preprocessor, 'normalize_patch', None)
        return PatchGrid((H, W), self.patch_cfg.patch_size, valid, B,
                         normalize)

    @contextmanager
    def _fill_norm_mode(self) -> Iterator[None]:
        """BatchNorm of θ1 in eval mode during the fill when ``bn_mode='eval'``.

        The fill sees every patch without gradients; letting it update the
        running statistics would count each patch once more per step.
        """
        switched = []
        if self.patch_cfg.bn_mode == 'eval':
            for module in self.patch_encoder_modules():
                for m in module.modules():
                    if isinstance(m, _BatchNorm) and m.training:
                        m.eval()
                        switched.append(m)
        try:
            yield
        finally:
            for m in switched:
                m.train()

    def recalibrate_norm_stats(self, batches: Iterable[Any]) -> int:
        """Recompute θ1's BatchNorm running statistics with the current
        weights from ``batches`` (precise BN); returns the layers updated.

        Training moves the running statistics at every train-mode forward:
        a PatchGD step makes 2I of them (I batches of k sampled patches, I
        global patches), each from a fraction of an image, so with the
        usual momentum of 0.1 the statistics follow the last image or two,
        and evaluation can swing from one checkpoint to the next. Here each
        batch (as the dataloader collates it) is preprocessed and θ1 runs,
        without gradients and in the training proportions, on every cell in
        groups of k per image, each group followed by the global patch; the
        running statistics become the plain average over all these
        forwards (PyTorch's ``momentum=None``). θ2's layers and the
        modules' train/eval modes are left as they are.
        """
        layers = [
            m for module in self.patch_encoder_modules()
            for m in module.modules()
            if isinstance(m, _BatchNorm) and m.track_running_stats
        ]
        if not layers:
            return 0
        saved = [(m.momentum, m.training) for m in layers]
        for m in layers:
            m.reset_running_stats()
            m.momentum = None
            m.train()
        try:
            with torch.no_grad():
                for data in batches:
                    data = self.data_preprocessor(data, True)
                    inputs = data['inputs']
                    grid = self.make_grid(inputs, data['data_samples'])
                    x = grid.pad(inputs)
                    image = self.global_image(inputs, grid)
                    k = self.patch_cfg.patches_for(grid.num_cells,
                                                   grid.batch_shape)
                    cells = grid.all_cells(x.device)
                    for start in range(0, grid.num_cells, k):
                        self.encode_patches(
                            grid.patches(x, cells[:, start:start + k]))
                        if image is not None:
                            self.encode_global(image)
        finally:
            for m, (momentum, training) in zip(layers, saved):
                m.momentum = momentum
                m.train(training)
        return len(layers)

    def fill_latent(self, x: Tensor, grid: PatchGrid) -> LatentBuffer:
        """Z of a grid-padded batch, with no gradients, in ``fill_chunk``s."""
        with torch.no_grad(), self._fill_norm_mode():
            return LatentBuffer.fill(grid, x, self.encode_patches,
                                     self.patch_cfg.fill_chunk)

    def global_image(self, inputs: Tensor,
                     grid: PatchGrid) -> Optional[Tensor]:
        """Each image's global patch ``(B, C, gh, gw)``; None without one."""
        if not self.uses_global_patch:
            return None
        return grid.global_patch(inputs, self.patch_cfg.global_size)

    def global_features(self, image: Optional[Tensor]) -> List[Tensor]:
        """θ1 of the global patches ``image``, per level ``(B, C_l, gh, gw)``.
        """
        if image is None:
            return []
        return self.checkpointed(self.encode_global, image)

    def checkpointed(self, encode, x: Tensor) -> List[Tensor]:
        """``encode(x)``, under activation checkpointing when ``with_cp``."""
        if not (self.patch_cfg.with_cp and torch.is_grad_enabled()):
            return list(encode(x))
        from torch.utils.checkpoint import checkpoint
        return list(
            checkpoint(lambda t: tuple(encode(t)), x, use_reentrant=False))

    def encode_image(self, inputs: Tensor,
                     data_samples: Optional[list]) -> Tuple[LatentBuffer,
                                                            List[Tensor]]:
        """Z and the global features of a batch, for inference.

        Memory is bounded by ``fill_chunk`` patches' activations plus Z, not
        by the image size.
        """
        grid = self.make_grid(inputs, data_samples)
        latent = self.fill_latent(grid.pad(inputs), grid)
        with torch.no_grad():
            return latent, self.global_features(self.global_image(inputs, grid))

    # ---------------------------------------------------------- host methods
    def loss(self, inputs: Tensor, data_samples: list) -> Dict[str, Tensor]:
        """Losses of the full computation: every patch with gradients.

        This is what ``forward(mode='loss')`` returns. Its memory grows with
        the image; training goes through :meth:`train_step` instead.
        """
        from mmengine.dist import is_distributed
        if self.training and is_distributed() and not getattr(
                self, 'patchgd_distributed', False):
            raise RuntimeError(
                'an mmpatch model is being trained by a distributed wrapper '
                "that calls forward(mode='loss'), the full computation over "
                'every patch, instead of the PatchGD step; set '
                "model_wrapper_cfg = dict(type='PatchGDDistributedDataParallel')"
                ' in the config')
        grid = self.make_grid(inputs, data_samples)
        latent = LatentBuffer.fill(grid, grid.pad(inputs),
                                   self.encode_patches,
                                   self.patch_cfg.fill_chunk)
        return self.loss_by_latent(
            latent, self.global_features(self.global_image(inputs, grid)),
            data_samples)

    def predict(self, inputs: Tensor, data_samples: Optional[list] = None):
        """Whole-image predictions, made once from Z (no per-patch merge)."""
        latent, global_feats = self.encode_image(inputs, data_samples)
        return self.predict_by_latent(latent, global_feats, data_samples)

    # ------------------------------------------------------------- training
    def _image_generators(self, batch_size: int) -> List[torch.Generator]:
        """One sampler generator per image of this step's batch."""
        from mmengine.dist import get_rank
        if self._sampler_seed is None:
            # the runner seeds torch before training; resumed runs get the
            # same seed back from the checkpoint's meta
            self._sampler_seed = torch.initial_seed()
        step, first = int(self.patchgd_step), get_rank() * batch_size
        return [
            image_generator(self._sampler_seed, step, first + i)
            for i in range(batch_size)
        ]

    def sync_gradients(self) -> None:
        """Average gradients over ranks once per optimizer step.

        Under :class:`PatchGDDistributedDataParallel` the inner loop calls the
        module directly (DDP's reducer never sees a forward), so gradients
        are all-reduced here, once, just before ``optim_wrapper.step()``,
        instead of after every inner backward. A no-op in one process.
        """
        from mmengine.dist import get_world_size
        world = get_world_size()
        if world == 1 or not getattr(self, 'patchgd_distributed', False):
            return
        import torch.distributed as dist
        from torch._utils import (_flatten_dense_tensors,
                                  _unflatten_dense_tensors)
        params = [p for p in self.parameters() if p.requires_grad]
        for p in params:  # every rank must reduce the same tensors
            if p.grad is None:
                p.grad = torch.zeros_like(p)
        grads = [p.grad for p in params]
        flat = _flatten_dense_tensors(grads)
        dist.all_reduce(flat)
        flat /= world
        for g, synced in zip(grads, _unflatten_dense_tensors(flat, grads)):
            g.copy_(synced)

    def train_step(self, data: Any, optim_wrapper) -> Dict[str, Tensor]:
        """One PatchGD step (design.md §2) driven through ``optim_wrapper``.

        Z is filled without gradients; each inner iteration re-encodes the
        sampled cells with gradients, scatters them into Z, computes
        the whole-image loss and back-propagates ``loss / window`` (the mean
        over the ``accumulate`` iterations that make one optimizer step).
        """
        cfg = self.patch_cfg
        if getattr(optim_wrapper, '_accumulative_counts', 1) != 1:
            raise ValueError(
                'optim_wrapper.accumulative_counts must be 1 for mmpatch '
                'models: the inner loop accumulates gradients itself; set '
                'patch_cfg.accumulate instead')
        t0 = time.perf_counter()
        # a non-finite forward writes NaN into BatchNorm running statistics
        # before the loss can be checked: keep them to restore on failure
        norm_stats = {
            f'{name}.{key}': b.detach().clone()
            for name, m in self.named_modules()
            if isinstance(m, _BatchNorm)
            for key, b in m.named_buffers(recurse=False)
        } if cfg.check_finite else {}
        with optim_wrapper.optim_context(self):
            data = self.data_preprocessor(data, True)
        inputs, data_samples = data['inputs'], data['data_samples']
        grid = self.make_grid(inputs, data_samples)
        x = grid.pad(inputs)
        # the global patch depends on the pixels only: resize it once
        image = self.global_image(inputs, grid)
        cache = getattr(self, 'latent_cache', None)
        cached = cache.lookup(data_samples, grid, x.device) if cache else None
        if cached is not None:
            latent = LatentBuffer(grid, cached)
        else:
            with optim_wrapper.optim_context(self):
                latent = self.fill_latent(x, grid)
        fill_s = time.perf_counter() - t0

        k = cfg.patches_for(grid.num_cells, grid.batch_shape)
        plans = self.patch_sampler.plan(
            grid.num_cells, k, cfg.inner_iters,
            self._image_generators(grid.batch_size))
        plans = [p.to(x.device) for p in plans]
        windows = _windows(cfg.inner_iters, cfg.accumulate)
        sums: Dict[str, Tensor] = OrderedDict()
        global_feats = global_leaves = None
        for j, cells in enumerate(plans):
            window = windows[j]
            with optim_wrapper.optim_context(self):
                if cells.numel():
                    feats = self.checkpointed(self.encode_patches,
                                              grid.patches(x, cells))
                    # into Z's own storage: no whole-image copy per iteration
                    current, replaced = latent.scatter_(cells, feats)
                else:  # 'disjoint' ran out of cells: θ2 and G still learn
                    current, replaced = latent.detach(), []
                if cfg.global_grad == 'every':
                    global_feats = self.global_features(image)
                elif cfg.global_grad == 'none':
                    with torch.no_grad():
                        global_feats = self.global_features(image)
                elif global_leaves is None:  # 'once' per optimizer step
                    global_feats = self.global_features(image)
                    global_leaves = [
                        g.detach().requires_grad_() for g in global_feats
                    ]
                losses = self.loss_by_latent(
                    current, global_leaves or global_feats, data_samples)
            loss, log_vars = self.parse_losses(losses)
            if cfg.check_finite and not torch.isfinite(loss):
                buffers = dict(self.named_buffers())
                for name, value in norm_stats.items():
                    buffers[name].copy_(value)
                optim_wrapper.zero_grad()
                raise FloatingPointError(
                    _nonfinite_message(log_vars, j, int(self.patchgd_step),
                                       data_samples, j // cfg.accumulate > 0))
            optim_wrapper.backward(loss / window)
            for key, value in log_vars.items():
                sums[key] = sums.get(key, 0) + value.detach()
            if _ends_window(j, cfg.inner_iters, cfg.accumulate):
                if global_leaves is not None:
                    grads = [g.grad for g in global_leaves]
                    pairs = [(f, g) for f, g in zip(global_feats, grads)
                             if g is not None]
                    if pairs:
                        torch.autograd.backward(*zip(*pairs))
                    global_leaves = None
                self.sync_gradients()
                optim_wrapper.step()
                optim_wrapper.zero_grad()
            if cfg.keep_updates:
                latent = current.detach()
            else:  # the next iteration starts from the fill's Z again
                latent.restore_(cells, replaced)
        if cache is not None:
            cache.store(data_samples, grid, latent.maps, cached is None)
        self.patchgd_step += 1
        self.patch_stats = dict(
            fill_s=fill_s,
            step_s=time.perf_counter() - t0,
            latent_bytes=latent.nbytes,
            patches_per_iter=k,
            grid=(grid.rows, grid.cols))
        return OrderedDict(
            (key, value / len(plans)) for key, value in sums.items())


def _windows(inner_iters: int, accumulate: int) -> List[int]:
    """Length of the accumulation window each inner iteration belongs to."""
    out = []
    for start in range(0, inner_iters, accumulate):
        n = min(accumulate, inner_iters - start)
        out += [n] * n
    return out


def _ends_window(j: int, inner_iters: int, accumulate: int) -> bool:
    return (j + 1) % accumulate == 0 or j + 1 == inner_iters


def _nonfinite_message(log_vars: dict, inner: int, step: int,
                       data_samples: Optional[list],
                       stepped_before: bool) -> str:
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
