"""PatchPreciseBNHook: θ1's BatchNorm statistics recomputed before
checkpoints and validation."""
from typing import Any, Iterator, Optional

import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.registry import HOOKS

from mmpatch.patchgd import PatchGDMixin


def training_batches(loader, num_batches: int, seed: int) -> Iterator[Any]:
    """``num_batches`` batches of the loader's dataset, drawn by a seeded
    permutation and collated as the loader does, without touching the
    loader's iterator (which training goes on using)."""
    size = loader.batch_size or 1
    gen = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(loader.dataset), generator=gen).tolist()
    picks = [order[i % len(order)] for i in range(num_batches * size)]
    for b in range(num_batches):
        yield loader.collate_fn(
            [loader.dataset[i] for i in picks[b * size:(b + 1) * size]])


@HOOKS.register_module()
class PatchPreciseBNHook(Hook):
    """Precise BN for PatchGD models (docs/method.md, "Precise BN").

    Every ``interval`` iterations and after the last one it recomputes θ1's
    BatchNorm running statistics from ``num_batches`` training batches with
    the current weights (:meth:`PatchGDMixin.recalibrate_norm_stats`). It
    runs in ``after_train_iter`` with a higher priority than
    ``CheckpointHook``, so that iteration's checkpoint and the validation
    that follows see the recomputed statistics. mmpretrain's
    ``PreciseBNHook`` does not fit: it runs the model's tensor forward,
    whose fill keeps BatchNorm in eval mode, and keeps the statistics of the
    last forward only, the global patch.

    Args:
        num_batches (int): training batches to average over.
        interval (int): iterations between recalibrations; align it with
            the checkpoint and validation intervals.
    """

    priority = 'NORMAL'

    def __init__(self, num_batches: int, interval: int) -> None:
        for key, value in (('num_batches', num_batches),
                           ('interval', interval)):
            if not (isinstance(value, int) and not isinstance(value, bool)
                    and value > 0):
                raise ValueError(
                    f'PatchPreciseBNHook({key}={value!r}): expected '
                    'dict(num_batches=N, interval=T) with positive ints N '
                    '(training batches to average over) and T (iterations '
                    'between recalibrations; align it with the checkpoint '
                    'and validation intervals)')
        self.num_batches = num_batches
        self.interval = interval

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch: Any = None,
                         outputs: Optional[dict] = None) -> None:
        if (self.every_n_train_iters(runner, self.interval)
                or self.is_last_train_iter(runner)):
            self.recalibrate(runner)

    def recalibrate(self, runner, iteration: Optional[int] = None) -> int:
        """Recompute the statistics now; returns the layers updated.

        Args:
            runner: the runner whose model and training data are used.
            iteration (int, optional): the iteration to name in the log and
                to seed the draw of batches with; defaults to the runner's.
        """
        model = runner.model
        if is_model_wrapper(model):
            model = model.module
        if not isinstance(model, PatchGDMixin):
            raise TypeError(f'PatchPreciseBNHook recalibrates mmpatch '
                            f'models; got {type(model).__name__}')
        iteration = runner.iter if iteration is None else iteration
        layers = model.recalibrate_norm_stats(
            training_batches(runner.train_dataloader, self.num_batches,
                             iteration))
        runner.logger.info(
            f'precise BN: recomputed the running statistics of {layers} '
            f'BatchNorm layers of θ1 from {self.num_batches} batches at '
            f'iteration {iteration + 1}')
        return layers
