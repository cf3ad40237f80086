"""Accuracy comparisons: every row of a task trained for the same number
of epochs, once per seed, then aggregated as mean ± std.

Each run is :func:`run_subprocess` of ``experiment.py`` (beside
``run_benchmarks.py``; a fresh interpreter: train with validation every
``val_every`` epochs, then test the final weights) with ``randomness.seed``
set through cfg options and ``epochs``: the iteration-based configs train
``epochs * ceil(len(train set) / batch size)`` iterations. ``ctx.jobs`` runs
go at a time, each on ``ctx.threads`` threads, the longest first.
"""
import math
import os
import os.path as osp
import statistics
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Tuple

from .common import Context, load, save


@dataclass
class Row:
    """One method of an accuracy table."""
    key: str  # its folder under WORK/<task>/ and its key in the JSON
    label: str  # as the page names it
    config: str
    #: seconds per training iteration on one thread (this machine's
    #: measurement, for the schedule's arithmetic and the run order)
    iter_s: float = 1.0


@dataclass
class Task:
    """An accuracy comparison: its rows, schedule and metrics."""
    name: str
    rows: List[Row]
    epochs: int
    val_every: int
    #: (column title, metric key) of the table, the first is the headline
    metrics: List[Tuple[str, str]]
    #: the headline as validation logs it (default: the table's), and the
    #: scale that puts it in the table's units
    val_metric: Optional[str] = None
    val_scale: float = 1.0
    #: decimals of the table
    digits: int = 3
    #: extra metrics of a finished run (e.g. from its log)
    extra: Optional[Callable[[dict], Dict[str, float]]] = None
    #: cfg options of every run (on top of the seed)
    options: Dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.val_metric = self.val_metric or self.metrics[0][1]

    @property
    def primary(self) -> Tuple[str, str]:
        return self.metrics[0]


#: the smoke run: a few images of each split, one epoch
SMOKE_OPTIONS = {
    'train_dataloader.dataset.indices': 4,
    'val_dataloader.dataset.indices': 2,
    'test_dataloader.dataset.indices': 2,
}


def smoke_options(config: str) -> Dict:
    """A few images per split, and precise BN from one batch."""
    from mmengine.config import Config
    options = dict(SMOKE_OPTIONS)
    hooks = Config.fromfile(config, import_custom_modules=False).get(
        'custom_hooks', [])
    if any(h.get('type') == 'PatchPreciseBNHook' for h in hooks):
        options['custom_hooks'] = [
            dict(h, num_batches=1) if h.get('type') == 'PatchPreciseBNHook'
            else dict(h) for h in hooks]
    return options


def run_dir(ctx: Context, task: Task, row: Row, seed: int) -> str:
    return ctx.path(task.name, row.key, f'seed{seed}')


def _options(ctx: Context, task: Task, row: Row, seed: int) -> Dict:
    """A run's cfg options (made before the runs start: mmengine's config
    loading is not thread-safe)."""
    options = dict(task.options, **{'randomness.seed': seed})
    if ctx.smoke:
        options.update(smoke_options(row.config))
    return options


def _one(ctx: Context, task: Task, row: Row, seed: int, epochs: int,
         options: Dict) -> dict:
    from experiment import run_subprocess  # beside run_benchmarks.py
    work = run_dir(ctx, task, row, seed)
    os.makedirs(work, exist_ok=True)
    # one write with its newline: the runs' threads print at once
    print(f'[{task.name}] {row.label}, seed {seed}: {epochs} epochs '
          f'(log: {osp.join(work, "run.log")})\n', end='', flush=True)
    # no MemoryLoggerHook: its CPU meter's per-operator bookkeeping would
    # be in the training time (the time section measures each config's
    # peak at the same size and batch)
    result = run_subprocess(row.config, work, options, epochs=epochs,
                            val_every=min(task.val_every, epochs),
                            log=osp.join(work, 'run.log'), memory_log=False)
    if task.extra is not None:
        result['metrics'].update(task.extra(result))
    return result


def run_task(ctx: Context, task: Task) -> dict:
    """Every (row, seed) of ``task``; saves and returns ``<task>.json``
    (:func:`.common.save`):
    ``{'schedule': ..., 'runs': {row: {seed: result}}}``."""
    epochs = 1 if ctx.smoke else task.epochs
    jobs = sorted(((row, seed) for row in task.rows for seed in ctx.seeds),
                  key=lambda job: -job[0].iter_s)
    runs: Dict[str, Dict[str, dict]] = {row.key: {} for row in task.rows}
    out = dict(schedule=dict(epochs=epochs, val_every=task.val_every,
                             seeds=list(ctx.seeds), jobs=ctx.jobs,
                             threads=ctx.threads, smoke=ctx.smoke),
               rows={row.key: dict(label=row.label, config=row.config)
                     for row in task.rows},
               runs=runs)
    with ThreadPoolExecutor(max_workers=max(1, ctx.jobs)) as pool:
        futures = [(row, seed, pool.submit(
            _one, ctx, task, row, seed, epochs,
            _options(ctx, task, row, seed))) for row, seed in jobs]
        for row, seed, future in futures:
            runs[row.key][str(seed)] = future.result()
            save(ctx, task.name, out)
    return out


# ----------------------------------------------------------- aggregation
def mean_std_values(values: List) -> List[float]:
    """The finite numbers of ``values``."""
    return [v for v in values if isinstance(v, (int, float))
            and math.isfinite(v)]


def mean_std(values: List[float]) -> Tuple[Optional[float], Optional[float]]:
    """Mean and sample standard deviation (None with fewer than 2)."""
    values = mean_std_values(values)
    if not values:
        return None, None
    std = statistics.stdev(values) if len(values) > 1 else None
    return statistics.fmean(values), std


def aggregate(result: dict, metrics: List[Tuple[str, str]],
              val_metric: Optional[str] = None) -> Dict:
    """Per row: each metric's and the run figures' ``(mean, std)`` over
    seeds, the seeds, and the last validation interval's change of
    ``val_metric`` (whether the curve has flattened)."""
    val_metric = val_metric or metrics[0][1]
    out = {}
    for key, seeds in result['runs'].items():
        runs = list(seeds.values())
        if not runs:
            continue
        row = dict(label=result['rows'][key]['label'],
                   config=result['rows'][key]['config'], seeds=len(runs))
        for _, metric in metrics:
            values = [r['metrics'].get(metric) for r in runs]
            row[metric] = mean_std(values)
            # seeds that gave a number (mmseg writes nan for an undefined
            # precision); the table says when some did not
            row[f'{metric}#n'] = len(mean_std_values(values))
        row['train_s'] = mean_std([train_seconds(r) for r in runs])
        row['iters'] = mean_std([r.get('iters') for r in runs])
        peaks = [r['peak_train_mb'] for r in runs if r.get('peak_train_mb')]
        row['peak_train_mb'] = max(peaks) if peaks else None
        row['epochs'] = runs[0].get('schedule', {}).get('epochs')
        row['last_change'] = mean_std([last_change(r, val_metric)
                                       for r in runs])
        out[key] = row
    return out


def train_seconds(run: dict) -> Optional[float]:
    """Training time without the validation passes (the last validation
    comes after the last iteration), else the whole ``runner.train()``."""
    curve = run.get('val_curve') or []
    return curve[-1]['train_s'] if curve else run.get('train_s')


def last_change(run: dict, metric: str) -> Optional[float]:
    """The headline validation metric's change over the last interval."""
    values = [p['metrics'].get(metric) for p in run.get('val_curve') or []]
    values = [v for v in values if isinstance(v, (int, float))]
    return values[-1] - values[-2] if len(values) > 1 else None


def fmt(pair, digits: int = 3, scale: float = 1.0) -> str:
    """``mean ± std`` (``mean`` alone from one seed; ``—`` without)."""
    mean, std = pair if isinstance(pair, (list, tuple)) else (pair, None)
    if mean is None:
        return '—'
    text = f'{mean * scale:.{digits}f}'
    return text if std is None else f'{text} ± {std * scale:.{digits}f}'


def table(rows: Dict, metrics: List[Tuple[str, str]], digits: int = 3,
          val_scale: float = 1.0) -> str:
    """The task's table; ``last val change`` is the headline's change over
    the last validation interval (in the table's units: ``val_scale``)."""
    head = ('| method | ' + ' | '.join(t for t, _ in metrics) +
            ' | last val change | epochs | iterations | train time (s, '
            'validation left out) | peak train memory (MiB) |')
    lines = [head, '|' + ' --- |' * (len(metrics) + 6)]
    for row in rows.values():
        values = ' | '.join(
            fmt(row[m], digits) + (
                f' ({row[f"{m}#n"]} of {row["seeds"]} seeds)'
                if row.get(f'{m}#n', row['seeds']) < row['seeds']
                and row[m][0] is not None else '')
            for _, m in metrics)
        peak = row['peak_train_mb']
        lines.append(
            f'| {row["label"]} | {values} | '
            f'{fmt(row["last_change"], digits, val_scale)} | '
            f'{row["epochs"] or "—"} | {fmt(row["iters"][0], 0)} | '
            f'{fmt(row["train_s"], 0)} | '
            f'{"—" if peak is None else f"{peak:.0f}"} |')
    return '\n'.join(lines)


def reading(rows: Dict, metric: str, name: str, digits: int = 3) -> str:
    """One sentence on who leads by ``metric``'s mean, and whether by more
    than the seeds' spread."""
    scores = {r['label']: r[metric] for r in rows.values()
              if r[metric][0] is not None}
    if not scores:
        return ''
    best = max(scores, key=lambda k: scores[k][0])
    mean, std = scores[best]
    others = ', '.join(f'{label} {fmt(v, digits)}'
                       for label, v in scores.items() if label != best)
    clear = all(mean - (std or 0) > v[0] + (v[1] or 0)
                for k, v in scores.items() if k != best)
    if std is None:  # one seed: no spread to compare with
        how = 'ahead (one seed)'
    else:
        how = ('ahead by more than the spread of the seeds' if clear else
               'ahead on the mean, within the spread of the seeds')
    return (f'By {name}, {best} is {how} ({fmt(scores[best], digits)}; '
            f'{others}).')


def schedule_text(result: dict, task: Task) -> str:
    """The schedule actually run, for the page."""
    sched = result['schedule']
    runs = [r for seeds in result['runs'].values() for r in seeds.values()]
    per = {r['config']: r.get('schedule', {}) for r in runs}
    first = next(iter(per.values()), {})
    text = (f'{sched["epochs"]} epochs ({first.get("iters_per_epoch", "?")}'
            f' iterations of batch {first.get("batch_size", "?")} each, '
            f'{first.get("max_iters", "?")} in all), validation every '
            f'{sched["val_every"]} epoch(s), seeds '
            f'{", ".join(map(str, sched["seeds"]))}')
    if sched.get('smoke'):
        text += ' (**smoke run**: a few images per split; meaningless ' \
                'figures)'
    return text


def load_task(ctx: Context, task: Task) -> Optional[dict]:
    """The saved results, with ``task.extra`` read again from every run
    whose folder is still there (so the page follows the extraction code,
    not the version that trained)."""
    result = load(ctx, task.name)
    if result and task.extra is not None:
        for seeds in result['runs'].values():
            for run in seeds.values():
                if osp.isdir(run.get('work_dir', '')):
                    run['metrics'].update(task.extra(run))
    return result
