"""LatentBufferHook: memory logging, the budget planner and latent caching."""
from typing import Any, Dict, Optional, Sequence

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.registry import HOOKS

from mmpatch.engine.latent_cache import HostLatentCache
from mmpatch.engine.memory import MemoryMeter, format_bytes, parse_bytes
from mmpatch.engine.planner import plan_memory


@HOOKS.register_module()
class LatentBufferHook(Hook):
    """What lives across iterations of a PatchGD run (design.md §4).

    * Around every training iteration it measures peak memory with
      :class:`MemoryMeter` (CUDA: ``max_memory_allocated``; CPU: live tensor
      bytes) and logs ``memory/peak_mb``, ``memory/latent_mb`` (Z) and
      ``time/fill_s`` through the message hub, so they appear in the text log
      and in TensorBoard. It works for any model; the PatchGD keys appear for
      mmpatch models.
    * Before training it runs the memory planner when the model's
      ``patch_cfg.patches_per_iter='auto'`` (or this hook's
      ``memory_budget`` is set): trial steps on the first batch choose k and
      ``fill_chunk``; the run stops before training if k = 1 does not fit.
      Later iterations whose measured peak passes the budget lower k.
    * ``latent_cache=dict(refresh_interval=N)`` keeps each sample's Z on the
      host between epochs (keyed by ``img_path`` and its transform), so the
      fill is skipped and redone every N epochs. The cache is saved in
      checkpoints.
    * ``precise_bn=dict(num_batches=N, interval=T)`` recomputes θ1's
      BatchNorm running statistics from N training batches with the current
      weights (:meth:`PatchGDMixin.recalibrate_norm_stats`) every T
      iterations and after the last one, before that iteration's
      checkpoint is saved and before validation runs. mmpretrain's
      ``PreciseBNHook`` does not fit: it runs the model's tensor forward,
      whose fill keeps BatchNorm in eval mode, and keeps the statistics of
      the last forward only, the global patch.

    Args:
        memory_budget (str | int, optional): e.g. ``'4G'``; overrides the
            model's ``patch_cfg.memory_budget``.
        latent_cache (dict, optional): ``dict(refresh_interval=N)``.
        log_memory (bool): measure and log every iteration.
        precise_bn (dict, optional): ``dict(num_batches=N, interval=T)``.
    """

    priority = 'NORMAL'

    def __init__(self,
                 memory_budget: Optional[Any] = None,
                 latent_cache: Optional[Dict] = None,
                 log_memory: bool = True,
                 precise_bn: Optional[Dict] = None) -> None:
        self.memory_budget = (
            parse_bytes(memory_budget) if memory_budget is not None else None)
        self.cache = HostLatentCache(**latent_cache) if latent_cache else None
        self.log_memory = log_memory
        self.precise_bn = _check_precise_bn(precise_bn)
        self.meter: Optional[MemoryMeter] = None
        self.plan = None
        self.max_peak_bytes = 0

    @staticmethod
    def _model(runner):
        model = runner.model
        return model.module if is_model_wrapper(model) else model

    def _budget(self, model) -> Optional[int]:
        if self.memory_budget is not None:
            return self.memory_budget
        cfg = getattr(model, 'patch_cfg', None)
        if cfg is not None and cfg.memory_budget is not None:
            return parse_bytes(cfg.memory_budget)
        return None

    def before_run(self, runner) -> None:
        """Refuse pipelines that use ``LoadLazyImage`` with a transform that
        needs pixels, before any data is loaded (train, val and test)."""
        cfg = getattr(runner, 'cfg', None)
        if cfg is not None:
            from mmpatch.datasets.lazy_image import check_lazy_config
            check_lazy_config(cfg.to_dict())

    # ---------------------------------------------------------------- train
    def before_train(self, runner) -> None:
        model = self._model(runner)
        device = next(model.parameters()).device
        self.meter = MemoryMeter(
            device=device, track=[model, runner.optim_wrapper])
        budget = self._budget(model)
        patchgd = hasattr(model, 'patch_cfg')
        if self.cache is not None and patchgd:
            model.latent_cache = self.cache
        if budget is None or not patchgd:
            return
        cfg = model.patch_cfg
        if cfg.patches_per_iter not in ('auto', None) and \
                self.memory_budget is None:
            return  # k is fixed by the config; the budget is only logged
        batch = self._first_batch(runner.train_dataloader)

        def measure(fn) -> int:
            meter = MemoryMeter(
                device=device, track=[model, runner.optim_wrapper])
            with meter:
                fn()
            return meter.peak_bytes

        self.plan = plan_memory(
            model,
            batch,
            runner.optim_wrapper,
            budget,
            measure,
            logger=runner.logger)
        cfg.patches_per_iter = 'auto'
        cfg.planned_k = self.plan.patches_per_iter
        cfg.fill_chunk = self.plan.fill_chunk

    @staticmethod
    def _first_batch(loader) -> Any:
        """The first samples of the dataset, collated as the loader does.

        Iterating the loader itself would consume (and, when the iterator is
        dropped, close) the sampler's generator that training then uses.
        """
        size = loader.batch_size or 1
        return LatentBufferHook._collate(
            loader, range(min(size, len(loader.dataset))))

    @staticmethod
    def _collate(loader, indices) -> Any:
        """The dataset's samples at ``indices``, collated as ``loader``
        does, without touching the loader's iterator."""
        return loader.collate_fn([loader.dataset[i] for i in indices])

    def before_train_iter(self,
                          runner,
                          batch_idx: int,
                          data_batch: Any = None) -> None:
        if self.log_memory and self.meter is not None:
            if self.meter.running:  # the previous iteration raised
                self.meter.stop()
            self.meter.start(track=data_batch)

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch: Any = None,
                         outputs: Optional[dict] = None) -> None:
        hub = runner.message_hub
        model = self._model(runner)
        stats = getattr(model, 'patch_stats', None) or {}
        if 'latent_bytes' in stats:
            hub.update_scalar('train/memory/latent_mb',
                              stats['latent_bytes'] / 2**20)
            hub.update_scalar('train/time/fill_s', stats['fill_s'])
            hub.update_scalar('train/patches_per_iter',
                              stats['patches_per_iter'])
        if self.log_memory and self.meter is not None:
            self._log_peak(runner, model)
        if self.precise_bn is not None and hasattr(
                model, 'recalibrate_norm_stats') and (
                    self.every_n_train_iters(runner,
                                             self.precise_bn['interval'])
                    or self.is_last_train_iter(runner)):
            self._recalibrate(runner, model)

    def _recalibrate(self, runner, model) -> None:
        """Precise BN from ``num_batches`` batches of training samples,
        drawn without touching the training loader's iterator."""
        import torch
        loader = runner.train_dataloader
        size = loader.batch_size or 1
        n = self.precise_bn['num_batches']
        gen = torch.Generator().manual_seed(runner.iter)
        order = torch.randperm(len(loader.dataset), generator=gen).tolist()
        picks = [order[i % len(order)] for i in range(n * size)]
        batches = (self._collate(loader, picks[b * size:(b + 1) * size])
                   for b in range(n))
        layers = model.recalibrate_norm_stats(batches)
        runner.logger.info(
            f'precise BN: recomputed the running statistics of {layers} '
            f'BatchNorm layers of θ1 from {n} batches at iteration '
            f'{runner.iter + 1}')

    def _log_peak(self, runner, model) -> None:
        hub = runner.message_hub
        self.meter.stop()
        peak = self.meter.peak_bytes
        self.max_peak_bytes = max(self.max_peak_bytes, peak)
        hub.update_scalar('train/memory/peak_mb', peak / 2**20)
        budget = self._budget(model)
        cfg = getattr(model, 'patch_cfg', None)
        if (budget is not None and peak > budget and cfg is not None
                and cfg.planned_k is not None and cfg.planned_k > 1):
            cfg.planned_k -= 1
            runner.logger.warning(
                f'iteration {runner.iter}: measured peak '
                f'{format_bytes(peak)} passed the budget '
                f'{format_bytes(budget)}; k lowered to {cfg.planned_k}')

    # ---------------------------------------------------------- checkpoints
    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        if self.cache is not None:
            checkpoint['latent_cache'] = self.cache.state_dict()

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        if self.cache is not None and 'latent_cache' in checkpoint:
            self.cache.load_state_dict(checkpoint['latent_cache'])

    @staticmethod
    def summary_keys() -> Sequence[str]:
        """Keys this hook logs (under ``train/``)."""
        return ('memory/peak_mb', 'memory/latent_mb', 'time/fill_s',
                'patches_per_iter')


def _check_precise_bn(cfg: Optional[Dict]) -> Optional[Dict]:
    """``dict(num_batches=N, interval=T)`` with positive ints, or None."""
    if cfg is None:
        return None
    cfg = dict(cfg)
    unknown = sorted(set(cfg) - {'num_batches', 'interval'})
    bad = [k for k in ('num_batches', 'interval')
           if not (isinstance(cfg.get(k), int)
                   and not isinstance(cfg.get(k), bool) and cfg[k] > 0)]
    if unknown or bad:
        raise ValueError(
            f'LatentBufferHook(precise_bn={cfg!r}): expected '
            'dict(num_batches=N, interval=T) with positive ints N (training '
            'batches to average over) and T (iterations between '
            'recalibrations; align it with the checkpoint and validation '
            'intervals)')
    return cfg
