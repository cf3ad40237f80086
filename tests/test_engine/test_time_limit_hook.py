import logging

import pytest

from mmpatch.engine.hooks import TrainTimeLimitHook


class _Loop:
    stop_training = False


class _Runner:

    def __init__(self, work_dir):
        self.iter, self.work_dir = 4, work_dir
        self.train_loop, self.logger, self.saved = _Loop(), logging, []

    def save_checkpoint(self, out_dir, filename):
        self.saved.append(filename)


def test_stops_and_saves_final_weights(tmp_path):
    hook, runner = TrainTimeLimitHook(seconds=1e-9), _Runner(str(tmp_path))
    hook.before_train(runner)
    hook.after_train_iter(runner, 0)
    assert runner.train_loop.stop_training
    assert runner.saved == ['iter_5.pth']


def test_keeps_training_within_the_limit(tmp_path):
    hook, runner = TrainTimeLimitHook(seconds=3600), _Runner(str(tmp_path))
    hook.before_train(runner)
    hook.after_train_iter(runner, 0)
    assert not runner.train_loop.stop_training and not runner.saved
    with pytest.raises(ValueError, match='seconds'):
        TrainTimeLimitHook(seconds=0)
