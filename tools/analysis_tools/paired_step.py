"""One training step of a config, timed in this checkout and at another
commit in turn (A B A B ...), so a change's cost in time is read as the
median of paired ratios while the machine's speed drifts.

    python tools/analysis_tools/paired_step.py CONFIG --against REV \
        --size 1024 [--batch-size 2] [--rounds 8] [--steps 6] \
        [--threads 1] [--cfg-options k=v ...] [--json out.json]

Each side of a round is one fresh ``benchmark_memory.py`` process (the
step's time: the median of the steps timed without the memory meter, as
every step time of docs/benchmarks.md); REV is checked out into a
temporary git worktree, removed afterwards, and runs its own code and
tools with this checkout's Python. ``--cfg-options`` apply to both sides
and must mean the same there.
"""
import argparse
import json
import os
import os.path as osp
import statistics
import subprocess
import sys
import tempfile
from typing import Dict, List

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOL = 'tools/analysis_tools/benchmark_memory.py'


def _git(*args: str, cwd: str = ROOT) -> str:
    return subprocess.run(['git', *args], cwd=cwd, check=True, text=True,
                          capture_output=True).stdout.strip()


def step_seconds(tree: str, args) -> float:
    """The step time of CONFIG in ``tree`` (one fresh process)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = osp.join(tmp, 'records.json')
        argv = [sys.executable, TOOL, args.config, '--sizes',
                str(args.size), '--batch-size', str(args.batch_size),
                '--steps', str(args.steps), '--threads', str(args.threads),
                '--baseline', 'none', '--json', out]
        if args.cfg_options:
            argv += ['--cfg-options', *args.cfg_options]
        env = dict(os.environ, PYTHONPATH=tree)
        run = subprocess.run(argv, cwd=tree, env=env, text=True,
                             capture_output=True)
        if run.returncode != 0 or not osp.exists(out):
            raise SystemExit(f'paired_step: {args.config} failed in {tree}:'
                             f'\n{run.stdout[-2000:]}{run.stderr[-2000:]}')
        with open(out) as f:
            rec = json.load(f)[0]
    if rec.get('status') != 'ok' or not rec.get('step_s'):
        raise SystemExit(f'paired_step: {args.config} in {tree}: '
                         f'{rec.get("status")} {rec.get("detail", "")}')
    return rec['step_s']


def summary(rounds: List[Dict[str, float]]) -> Dict[str, float]:
    """Median, least and largest of the paired ratios (this checkout over
    REV), and each side's median step."""
    ratios = [r['head'] / r['against'] for r in rounds]
    return dict(median_ratio=round(statistics.median(ratios), 4),
                min_ratio=round(min(ratios), 4),
                max_ratio=round(max(ratios), 4),
                head_s=round(statistics.median(r['head'] for r in rounds), 4),
                against_s=round(
                    statistics.median(r['against'] for r in rounds), 4))


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('config')
    p.add_argument('--against', required=True,
                   help='the commit to time beside this checkout')
    p.add_argument('--size', type=int, required=True)
    p.add_argument('--batch-size', type=int, default=1)
    p.add_argument('--rounds', type=int, default=8)
    p.add_argument('--steps', type=int, default=6,
                   help="benchmark_memory.py's --steps (default 6: 4 timed)")
    p.add_argument('--threads', type=int, default=1)
    p.add_argument('--cfg-options', nargs='+')
    p.add_argument('--json')
    return p.parse_args(argv)


def main(argv=None) -> Dict:
    args = parse_args(argv)
    against = _git('rev-parse', args.against)
    tmp = tempfile.mkdtemp(prefix='paired_step_')
    tree = osp.join(tmp, against[:10])
    _git('worktree', 'add', '--detach', tree, against)
    rounds = []
    try:
        for i in range(args.rounds):
            rounds.append(dict(head=step_seconds(ROOT, args),
                               against=step_seconds(tree, args)))
            print(f'round {i + 1}: {rounds[-1]["head"]:.3f} s here, '
                  f'{rounds[-1]["against"]:.3f} s at {against[:10]}',
                  flush=True)
    finally:
        _git('worktree', 'remove', '--force', tree)
        os.rmdir(tmp)
    argv = sys.argv[1:] if argv is None else list(argv)
    result = dict(command=' '.join(['python', osp.relpath(__file__, ROOT),
                                    *argv]),
                  config=args.config, size=args.size,
                  batch_size=args.batch_size, threads=args.threads,
                  head=_git('rev-parse', 'HEAD'), against=against,
                  rounds=rounds, **summary(rounds))
    print(f'{args.config} at {args.size} px: median ratio '
          f'{result["median_ratio"]:.3f} ({result["min_ratio"]:.3f}-'
          f'{result["max_ratio"]:.3f}) over {len(rounds)} rounds')
    if args.json:
        os.makedirs(osp.dirname(osp.abspath(args.json)), exist_ok=True)
        with open(args.json, 'w') as f:
            json.dump(result, f, indent=1)
    return result


if __name__ == '__main__':
    main()
