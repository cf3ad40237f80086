"""Stop training after a wall-clock budget (for equal-time comparisons)."""
import time

from mmengine.hooks import Hook
from mmengine.registry import HOOKS


@HOOKS.register_module()
class TrainTimeLimitHook(Hook):
    """Ends training once ``seconds`` of training have passed.

    It sets the loop's ``stop_training`` flag, as mmengine's own
    ``EarlyStoppingHook`` does, so the run ends cleanly, and saves the final
    weights (``iter_N.pth``) with ``runner.save_checkpoint``. Used to train a baseline for the same time as
    a PatchGD run.

    Args:
        seconds (float): wall-clock budget of the training loop.
    """

    priority = 'LOWEST'

    def __init__(self, seconds: float) -> None:
        if not seconds > 0:
            raise ValueError(f'seconds must be > 0, got {seconds!r}')
        self.seconds = float(seconds)
        self._start = None

    def before_train(self, runner) -> None:
        self._start = time.perf_counter()

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None) -> None:
        if time.perf_counter() - self._start >= self.seconds:
            runner.train_loop.stop_training = True
            # the loop ends before max_iters, so CheckpointHook's save_last
            # never fires: save the final weights here
            runner.save_checkpoint(runner.work_dir,
                                   f'iter_{runner.iter + 1}.pth')
            runner.logger.info(
                f'time limit of {self.seconds:.0f} s reached at iteration '
                f'{runner.iter + 1}: training stops, checkpoint saved')
