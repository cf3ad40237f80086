"""TrainClockHook: training wall-clock time at each epoch's end."""
import json
import os.path as osp
import time

from mmengine.hooks import Hook
from mmengine.registry import HOOKS


@HOOKS.register_module()
class TrainClockHook(Hook):
    """Writes ``WORK_DIR/train_clock.json``: per finished epoch, the epoch,
    the iteration and the seconds of training so far (validation excluded).

    A time-to-accuracy curve scores each epoch's checkpoint afterwards and
    puts it at this time (tools/analysis_tools/det_comparison.py).
    """

    priority = 'VERY_LOW'  # after CheckpointHook has saved the epoch

    def __init__(self) -> None:
        self.records = []
        self._train_s = 0.0
        self._t0 = None

    def before_train_epoch(self, runner) -> None:
        self._t0 = time.perf_counter()

    def after_train_epoch(self, runner) -> None:
        self._train_s += time.perf_counter() - self._t0
        self.records.append(dict(epoch=runner.epoch + 1, iter=runner.iter,
                                 train_s=round(self._train_s, 3)))
        with open(osp.join(runner.work_dir, 'train_clock.json'), 'w') as f:
            json.dump(self.records, f, indent=1)
