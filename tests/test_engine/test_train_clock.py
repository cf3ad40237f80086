"""TrainClockHook writes the training time of each finished epoch."""
import json
from types import SimpleNamespace


def test_train_clock_records_epochs(tmp_path):
    from mmpatch.engine.hooks import TrainClockHook
    hook = TrainClockHook()
    runner = SimpleNamespace(work_dir=str(tmp_path), epoch=0, iter=0)
    for epoch in range(2):
        runner.epoch, runner.iter = epoch, 5 * epoch
        hook.before_train_epoch(runner)
        runner.iter += 5
        hook.after_train_epoch(runner)
    rows = json.load(open(tmp_path / 'train_clock.json'))
    assert [(r['epoch'], r['iter']) for r in rows] == [(1, 5), (2, 10)]
    assert 0 <= rows[0]['train_s'] <= rows[1]['train_s']
