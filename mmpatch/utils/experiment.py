"""Train + test one config and collect what the demo and benchmarks report.

Each experiment runs in a fresh subprocess (``python -m
mmpatch.utils.experiment``), so memory, registries' default scope and
mmengine's global instances never leak from one run into the next.
"""
import argparse
import json
import os
import os.path as osp
import subprocess
import sys
import time
from typing import Dict, List, Optional


def run_in_process(config: str,
                   work_dir: str,
                   cfg_options: Optional[Dict] = None,
                   time_limit: Optional[float] = None,
                   test: bool = True) -> Dict:
    """Train then test ``config``; return metrics, times and peak memory.

    With ``test=False`` the test loop is skipped (``metrics`` is empty): the
    caller scores the checkpoints itself.
    """
    from mmengine.config import Config

    from mmpatch.engine.hooks import MemoryLoggerHook
    from mmpatch.utils.cli import build_runner
    cfg = Config.fromfile(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    cfg.work_dir = work_dir
    cfg.launcher = 'none'
    hooks = list(cfg.get('custom_hooks', []))
    if not any(h.get('type') == 'MemoryLoggerHook' for h in hooks):
        hooks.append(dict(type='MemoryLoggerHook'))
    if time_limit:
        hooks.append(dict(type='TrainTimeLimitHook', seconds=time_limit))
    cfg.custom_hooks = hooks
    runner = build_runner(cfg)
    t0 = time.perf_counter()
    runner.train()
    train_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    metrics = runner.test() if test else {}
    test_s = time.perf_counter() - t0
    hook = next(h for h in runner.hooks
                if isinstance(h, MemoryLoggerHook))
    return dict(
        config=config,
        work_dir=work_dir,
        iters=runner.iter,
        train_s=train_s,
        test_s=test_s,
        peak_train_mb=hook.max_peak_bytes / 2**20,
        memory_method=hook.meter.method if hook.meter else None,
        metrics={k: float(v) for k, v in metrics.items()})


def run_subprocess(config: str,
                   work_dir: str,
                   cfg_options: Optional[Dict] = None,
                   time_limit: Optional[float] = None,
                   python: str = sys.executable,
                   test: bool = True) -> Dict:
    """:func:`run_in_process` in a fresh interpreter; its result as a dict."""
    os.makedirs(work_dir, exist_ok=True)
    out = osp.join(work_dir, 'experiment.json')
    cmd: List[str] = [
        python, '-m', 'mmpatch.utils.experiment', config, '--work-dir',
        work_dir, '--json', out
    ]
    if cfg_options:
        cmd += ['--cfg-options-json', json.dumps(cfg_options)]
    if time_limit:
        cmd += ['--time-limit', str(time_limit)]
    if not test:
        cmd.append('--no-test')
    subprocess.run(cmd, check=True)
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
    args = parser.parse_args()
    options = json.loads(args.cfg_options_json) \
        if args.cfg_options_json else None
    result = run_in_process(args.config, args.work_dir, options,
                            args.time_limit, test=not args.no_test)
    with open(args.json, 'w') as f:
        json.dump(result, f, indent=2)


if __name__ == '__main__':
    main()
