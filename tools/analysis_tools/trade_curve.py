"""The memory/time trade of the full-gradient step (issue #31): step time
against peak training memory as more of the fill's chunks are kept.

    python tools/analysis_tools/trade_curve.py CONFIG --size 1024 \
        [--batch-size 2] [--keep 0 1 2 ...] [--baseline-config STOCK] \
        [--sampled-config SAMPLED] [--steps 4] [--threads 1] \
        [--json out.json] [--plot out.png] [--cfg-options k=v ...] \
        [--baseline-cfg-options k=v ...] [--breakdown]

CONFIG is a ``gradient='full'`` config. Each point runs
``benchmark_memory.py`` (one fresh subprocess, the CPU meter or CUDA's
allocator) with ``model.patch_cfg.keep_chunks=K``: K = 0 is the step
that re-encodes every chunk (the tightest), K = n (every chunk) is one
forward and one backward of every cell. The memory planner
(``patch_cfg.memory_budget``) picks the largest K whose measured peak fits
the budget, so each point's peak is the budget at which the planner runs
it. Beside the curve: the stock model on the whole image (``--baseline-config``,
or the config's own host model), the step the planner chooses at that
model's measured peak as ``memory_budget`` (``planned``: the chunks it
keeps, and whether it drops activation checkpointing once every chunk is
kept) and, given ``--sampled-config``, the paper's sampled step. Writes the
records (``--json``: ``{"points": [...], "full": ..., "planned": ...,
"sampled": ...}``), a table and the picture (``--plot``).
"""
import argparse
import json
import math
import os
import os.path as osp
import sys
from typing import Dict, List, Optional, Tuple

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
import benchmark_memory  # noqa: E402  (beside this script)


def measure(config: str, args, baseline: str = 'none',
            options: Optional[List[str]] = None,
            breakdown: bool = False) -> List[dict]:
    """``benchmark_memory.py`` on one config at ``args.size``: its records
    (``--cfg-options`` apply to CONFIG's runs only; ``breakdown``: also
    the time and peak of each phase of the step)."""
    argv = [config, '--sizes', str(args.size), '--batch-size',
            str(args.batch_size), '--steps', str(args.steps),
            '--baseline', baseline] + (['--breakdown'] if breakdown else [])
    if args.threads:
        argv += ['--threads', str(args.threads)]
    if args.device:
        argv += ['--device', args.device]
    opts = list(options or [])
    if config == args.config:
        opts = list(args.cfg_options or []) + opts
    if opts:
        argv += ['--cfg-options', *opts]
    if baseline != 'none' and args.baseline_cfg_options:
        argv += ['--baseline-cfg-options', *args.baseline_cfg_options]
    return benchmark_memory.main(argv)


def num_chunks(rec: dict) -> int:
    """The fill's chunks in a step: every cell of the batch over the fill
    chunk."""
    cells = rec['k'] * rec['batch_size']
    return -(-cells // rec['fill_chunk'])


def default_keeps(n: int, most: int = 6) -> List[int]:
    """0, n and up to ``most - 2`` points spread between them."""
    if n + 1 <= most:
        return list(range(n + 1))
    inner = {round(n * i / (most - 1)) for i in range(1, most - 1)}
    return [0, *sorted(inner - {0, n}), n]


def curve(args) -> Dict[str, object]:
    """Every point of the curve, and the full-image and sampled steps."""
    first = measure(args.config, args,
                    options=['model.patch_cfg.keep_chunks=0'])[0]
    if first['status'] != 'ok':
        raise SystemExit(f'trade_curve: {args.config} at {args.size} px '
                         f'did not run ({first["status"]}: '
                         f'{first.get("detail", "")})')
    if first.get('gradient') != 'full':
        raise SystemExit(f"trade_curve: {args.config} has gradient="
                         f"'{first.get('gradient')}'; the trade is that of "
                         "gradient='full' (set model.patch_cfg.gradient)")
    n = num_chunks(first)
    points = [dict(first, keep=0)]
    for keep in sorted(set(args.keep or default_keeps(n)) - {0}):
        # the phases of the step with every chunk kept, against the full
        # image's: what takes the time where the 1.1x goal is missed
        rec = measure(args.config, args,
                      options=[f'model.patch_cfg.keep_chunks={keep}'],
                      breakdown=args.breakdown and keep >= n)[0]
        points.append(dict(rec, keep=min(keep, n)))
    if args.baseline_config:  # a stock config runs as it is
        full = measure(args.baseline_config, args,
                       breakdown=args.breakdown)[0]
    else:  # the config's host model, derived by benchmark_memory.py
        full = measure(args.config, args, baseline='full',
                       breakdown=args.breakdown)[1]
    planned = None
    if full.get('peak_train_mb'):  # the planner at the full image's peak
        budget = f'{math.floor(full["peak_train_mb"])}M'
        planned = measure(args.config, args, breakdown=args.breakdown,
                          options=['model.patch_cfg.keep_chunks=None',
                                   f'model.patch_cfg.memory_budget={budget}'
                                   ])[0]
    sampled = (measure(args.sampled_config, args)[0]
               if args.sampled_config else None)
    return dict(config=args.config, size=args.size,
                batch_size=args.batch_size, chunks=n, points=points,
                full=full, planned=planned, sampled=sampled)


def _fmt(value, digits: int) -> str:
    return '—' if value is None else f'{value:.{digits}f}'


def phases(rec: Optional[dict]) -> str:
    """``'fill 0.52 s, chunk_backward 0.82 s, ...'``, the slowest first
    (``--breakdown``'s training phases), or ''."""
    times = ((rec or {}).get('breakdown') or {}).get('train', {}).get('s')
    if not times:
        return ''
    ranked = sorted(times.items(), key=lambda kv: -kv[1])
    return ', '.join(f'{name} {sec:.2f} s' for name, sec in ranked
                     if sec >= 0.01)


def table(result: Dict) -> str:
    """One row a point, then the full-image and sampled steps."""
    full = result['full'] or {}
    ref = full.get('step_s')
    lines = ['| step | chunks kept | peak train (MiB) | step (s) | '
             '/ full-image step |', '| --- | --- | --- | --- | --- |']

    def row(name: str, kept: str, rec: Optional[dict]) -> None:
        if not rec:
            return
        ratio = (f'{rec["step_s"] / ref:.2f}×'
                 if ref and rec.get('step_s') else '—')
        lines.append(f'| {name} | {kept} | '
                     f'{_fmt(rec.get("peak_train_mb"), 1)} | '
                     f'{_fmt(rec.get("step_s"), 2)} | {ratio} |')

    for p in result['points']:
        row('ours, full gradient', f'{p["keep"]} of {result["chunks"]}', p)
    row('full image (stock)', '—', full)
    planned = result.get('planned') or {}
    if planned.get('plan'):
        row(f'ours, planned at {planned["plan"]["budget_mb"]:.0f} MiB',
            planned_kept(planned, result['chunks']), planned)
    row('ours, sampled step', '—', result['sampled'])
    return '\n'.join(lines)


def planned_kept(rec: dict, chunks: int) -> str:
    """``'3 of 4'``, ``'4 of 4, no checkpointing'`` or ``'4 of 4,
    checkpointing 5 of 16 modules'``: the planner's choice of a
    ``planned`` record, and the measured peak without checkpointing where
    it did not fit."""
    plan = rec.get('plan') or {}
    out = f'{plan.get("keep_chunks")} of {chunks}'
    cp, unckpt = plan.get('checkpoint'), plan.get('uncheckpointed_peak_mb')
    if cp is not None:  # False in records before partial checkpointing
        out += (', no checkpointing' if cp == 0 else
                f', checkpointing {cp} of {plan.get("checkpointed_modules")}'
                ' modules')
    if unckpt and cp != 0:
        out += f'; without checkpointing {unckpt:.0f} MiB'
    return out


def monotone(points: List[dict]) -> bool:
    """Whether keeping more chunks never costs more time (the curve)."""
    return not rises(points)


def rises(points: List[dict]) -> List[Tuple[int, int, float]]:
    """Where keeping more chunks cost time: ``(kept, more kept, relative
    rise)`` for each neighbouring pair of points whose time went up."""
    pts = sorted(points, key=lambda p: p['keep'])
    return [(a['keep'], b['keep'], b['step_s'] / a['step_s'] - 1)
            for a, b in zip(pts, pts[1:]) if b['step_s'] > a['step_s']]


def spread(points: List[dict]) -> Optional[float]:
    """The widest relative spread (max - min over the median) of one
    point's timed steps, or None where the steps were not recorded."""
    out = []
    for p in points:
        times = p.get('step_times_s') or []
        if len(times) > 1:
            out.append((max(times) - min(times)) / p['step_s'])
    return max(out) if out else None


def plot(result: Dict, path: str) -> None:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    pts = sorted(result['points'], key=lambda p: p['keep'])
    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    ax.plot([p['peak_train_mb'] for p in pts], [p['step_s'] for p in pts],
            'o-', label='ours, full gradient (chunks kept: 0 … '
            f'{result["chunks"]})')
    for p in (pts[0], pts[-1]):
        ax.annotate(str(p['keep']), (p['peak_train_mb'], p['step_s']),
                    textcoords='offset points', xytext=(4, 4), fontsize=8)
    for key, marker, label in (('full', 's', 'full image (stock)'),
                               ('planned', 'D', "ours, planned at the full "
                                "image's peak"),
                               ('sampled', '^', 'ours, sampled step')):
        rec = result.get(key)
        if rec and rec.get('step_s'):
            ax.plot([rec['peak_train_mb']], [rec['step_s']], marker,
                    label=label)
    ax.set_xlabel('peak training memory (MiB)')
    ax.set_ylabel('step (s)')
    ax.set_title(f'{osp.basename(result["config"])}, {result["size"]} px, '
                 f'batch {result["batch_size"]}', fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('config', help="a gradient='full' config")
    p.add_argument('--size', type=int, required=True)
    p.add_argument('--batch-size', type=int, default=1)
    p.add_argument('--keep', type=int, nargs='+',
                   help='chunks kept, one point each (default: 0, every '
                   'chunk and up to 4 between)')
    p.add_argument('--baseline-config',
                   help="the stock model's config (default: the config's "
                   'host model)')
    p.add_argument('--sampled-config', help="the sampled step's config")
    p.add_argument('--steps', type=int, default=4,
                   help="benchmark_memory.py's --steps (default 4)")
    p.add_argument('--threads', type=int, default=1)
    p.add_argument('--device', default=None)
    p.add_argument('--cfg-options', nargs='+',
                   help='key=value settings for every run of CONFIG')
    p.add_argument('--baseline-cfg-options', nargs='+',
                   help='key=value settings of the derived stock model only, '
                   'e.g. model.backbone.with_cp=False')
    p.add_argument('--breakdown', action='store_true',
                   help='time and peak of each phase, for the step with '
                   "every chunk kept and the full image's")
    p.add_argument('--json')
    p.add_argument('--plot')
    return p.parse_args(argv)


def main(argv=None) -> Dict:
    args = parse_args(argv)
    result = curve(args)
    result['monotone'] = monotone(result['points'])
    print(table(result))
    print(f'time falls as chunks are kept: {result["monotone"]}')
    if args.json:
        os.makedirs(osp.dirname(osp.abspath(args.json)), exist_ok=True)
        with open(args.json, 'w') as f:
            json.dump(result, f, indent=1)
    if args.plot:
        plot(result, args.plot)
    return result


if __name__ == '__main__':
    main()
