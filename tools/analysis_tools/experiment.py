"""Train + test one config and collect what the demo and benchmarks report.

    python tools/analysis_tools/experiment.py CONFIG --work-dir DIR \
        --json OUT [--cfg-options-json JSON] [--time-limit S] [--no-test] \
        [--epochs N] [--val-every E] [--no-memory-log]

Each experiment runs in a fresh subprocess (this script), so memory,
registries' default scope and mmengine's global instances never leak from
one run into the next. The tools beside it (``det_comparison.py``,
``benchmarks/accuracy.py``) import it through their own folder.

A run is either as long as its config says (or ``time_limit`` seconds), or
``epochs`` passes over its training set: an iteration-based config then
trains ``epochs * iters_per_epoch`` iterations and validates every
``val_every`` epochs, and the result carries the validation curve (each
validation's metrics, as mmengine logs them to ``scalars.json``, with the
iteration, the epoch and the training seconds it was reached in).
"""
import argparse
import json
import math
import os
import os.path as osp
import subprocess
import sys
import time
from typing import Dict, List, Optional

#: hooks whose ``interval`` follows the validation interval of an
#: ``epochs`` run (their work must precede each validation)
VAL_ALIGNED_HOOKS = ('PatchPreciseBNHook', )


def iters_per_epoch(cfg) -> int:
    """Training iterations in one pass over ``cfg``'s training set:
    ``ceil(len(dataset) / batch_size)`` (the dataset is built, in its host
    library's scope, to count it)."""
    import importlib

    from mmengine.registry import DATASETS, DefaultScope

    from mmpatch.utils.cli import host_scope
    scope = host_scope(cfg)
    if scope:
        importlib.import_module(f'{scope}.utils').register_all_modules(
            init_default_scope=False)
    loader = cfg.train_dataloader
    with DefaultScope.overwrite_default_scope(scope):
        dataset = DATASETS.build(loader.dataset)
    return math.ceil(len(dataset) / loader.batch_size)


def epoch_options(cfg, epochs: int, val_every: float) -> Dict:
    """cfg options for ``epochs`` epochs of an iteration-based config,
    validating every ``val_every`` epochs (a fraction validates within an
    epoch) and checkpointing at the end."""
    per_epoch = iters_per_epoch(cfg)
    max_iters = epochs * per_epoch
    interval = max(1, round(val_every * per_epoch))
    options = {
        'train_cfg.max_iters': max_iters,
        'train_cfg.val_interval': interval,
        'train_cfg.val_begin': 1,
        'default_hooks.checkpoint.interval': max_iters,
    }
    hooks = [dict(h) for h in cfg.get('custom_hooks', [])]
    if any(h.get('type') in VAL_ALIGNED_HOOKS for h in hooks):
        options['custom_hooks'] = [
            dict(h, interval=interval) if h.get('type') in VAL_ALIGNED_HOOKS
            else h for h in hooks
        ]
    return dict(options, iters_per_epoch=per_epoch)


def _numbers(metrics: Optional[Dict]) -> Dict[str, float]:
    """The metrics that are numbers (mmseg's are numpy scalars), as floats.
    """
    out = {}
    for key, value in (metrics or {}).items():
        try:
            out[key] = float(value)
        except (TypeError, ValueError):
            pass
    return out


def val_curve_hook(path: str, per_epoch: Optional[int]):
    """A hook that keeps each validation's metrics with the iteration,
    epoch and seconds of training (validation passes left out; ``wall_s``
    has them) it was reached in, rewriting ``path`` after each."""
    from mmengine.hooks import Hook

    class ValCurveHook(Hook):
        priority = 'VERY_LOW'

        def __init__(self) -> None:
            self.points: List[Dict] = []
            self.t0 = self.v0 = None
            self.val_s = 0.0

        def before_train(self, runner) -> None:
            self.t0 = time.perf_counter()

        def before_val_epoch(self, runner) -> None:
            self.v0 = time.perf_counter()

        def after_val_epoch(self, runner, metrics=None) -> None:
            if self.t0 is None:
                return
            now = time.perf_counter()
            self.val_s += now - self.v0
            self.points.append(dict(
                iter=runner.iter,
                epoch=runner.iter / per_epoch if per_epoch else None,
                train_s=round(now - self.t0 - self.val_s, 2),
                wall_s=round(now - self.t0, 2),
                metrics=_numbers(metrics)))
            with open(path, 'w') as f:
                json.dump(self.points, f, indent=1)

    return ValCurveHook()


def run_in_process(config: str,
                   work_dir: str,
                   cfg_options: Optional[Dict] = None,
                   time_limit: Optional[float] = None,
                   test: bool = True,
                   epochs: Optional[int] = None,
                   val_every: float = 1,
                   memory_log: bool = True) -> Dict:
    """Train then test ``config``; return metrics, times and peak memory
    (with ``epochs``: also the schedule and the validation curve).

    With ``test=False`` the test loop is skipped (``metrics`` is empty): the
    caller scores the checkpoints itself. ``memory_log=False`` trains
    without ``MemoryLoggerHook``: no peak (``peak_train_mb`` None), and no
    CPU meter's per-operator bookkeeping in the training time.
    """
    from mmengine.config import Config

    from mmpatch.engine.hooks import MemoryLoggerHook
    from mmpatch.utils.cli import build_runner
    cfg = Config.fromfile(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    schedule = None
    if epochs:
        options = epoch_options(cfg, epochs, val_every)
        schedule = dict(epochs=epochs, val_every=val_every,
                        iters_per_epoch=options.pop('iters_per_epoch'),
                        batch_size=cfg.train_dataloader.batch_size)
        cfg.merge_from_dict(options)
    cfg.work_dir = work_dir
    cfg.launcher = 'none'
    hooks = list(cfg.get('custom_hooks', []))
    if not memory_log:
        hooks = [h for h in hooks if h.get('type') != 'MemoryLoggerHook']
    elif not any(h.get('type') == 'MemoryLoggerHook' for h in hooks):
        hooks.append(dict(type='MemoryLoggerHook'))
    if time_limit:
        hooks.append(dict(type='TrainTimeLimitHook', seconds=time_limit))
    cfg.custom_hooks = hooks
    runner = build_runner(cfg)
    curve = None
    if schedule:
        curve = val_curve_hook(osp.join(work_dir, 'val_curve.json'),
                               schedule['iters_per_epoch'])
        runner.register_hook(curve)
    t0 = time.perf_counter()
    runner.train()
    train_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    metrics = runner.test() if test else {}
    test_s = time.perf_counter() - t0
    hook = next((h for h in runner.hooks
                 if isinstance(h, MemoryLoggerHook)), None)
    result = dict(
        config=config,
        work_dir=work_dir,
        iters=runner.iter,
        train_s=train_s,
        test_s=test_s,
        peak_train_mb=hook.max_peak_bytes / 2**20 if hook else None,
        memory_method=hook.meter.method if hook and hook.meter else None,
        metrics={k: float(v) for k, v in metrics.items()})
    if schedule:
        result.update(schedule=dict(schedule, max_iters=runner.iter),
                      seed=cfg.get('randomness', {}).get('seed'),
                      val_curve=curve.points)
    return result


def run_subprocess(config: str,
                   work_dir: str,
                   cfg_options: Optional[Dict] = None,
                   time_limit: Optional[float] = None,
                   python: str = sys.executable,
                   test: bool = True,
                   epochs: Optional[int] = None,
                   val_every: float = 1,
                   log: Optional[str] = None,
                   memory_log: bool = True) -> Dict:
    """:func:`run_in_process` in a fresh interpreter; its result as a dict.
    ``log``: a file for the interpreter's output (default: inherited)."""
    os.makedirs(work_dir, exist_ok=True)
    out = osp.join(work_dir, 'experiment.json')
    cmd: List[str] = [
        python, osp.abspath(__file__), config, '--work-dir', work_dir,
        '--json', out
    ]
    if cfg_options:
        cmd += ['--cfg-options-json', json.dumps(cfg_options)]
    if time_limit:
        cmd += ['--time-limit', str(time_limit)]
    if not test:
        cmd.append('--no-test')
    if epochs:
        cmd += ['--epochs', str(epochs), '--val-every', str(val_every)]
    if not memory_log:
        cmd += ['--no-memory-log']
    if log is None:
        subprocess.run(cmd, check=True)
    else:
        with open(log, 'w') as f:
            subprocess.run(cmd, check=True, stdout=f,
                           stderr=subprocess.STDOUT)
    with open(out) as f:
        return json.load(f)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config')
    parser.add_argument('--work-dir', required=True)
    parser.add_argument('--json', required=True)
    parser.add_argument('--cfg-options-json', default=None)
    parser.add_argument('--time-limit', type=float, default=None)
    parser.add_argument('--no-test', action='store_true',
                        help='train only (no test loop)')
    parser.add_argument('--epochs', type=int, default=None)
    parser.add_argument('--val-every', type=float, default=1)
    parser.add_argument('--no-memory-log', action='store_true')
    args = parser.parse_args()
    options = json.loads(args.cfg_options_json) \
        if args.cfg_options_json else None
    result = run_in_process(args.config, args.work_dir, options,
                            args.time_limit, test=not args.no_test,
                            epochs=args.epochs, val_every=args.val_every,
                            memory_log=not args.no_memory_log)
    with open(args.json, 'w') as f:
        json.dump(result, f, indent=2)


if __name__ == '__main__':
    main()
