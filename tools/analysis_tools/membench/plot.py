"""The memory plot: peak training memory against image side."""
import os
import os.path as osp
from typing import List, Optional

MIB = 2**20


def series(rec: dict) -> str:
    """The line a record belongs to: its method, and the gradient mode of a
    full-gradient PatchGD record (records of several runs may share a
    plot)."""
    if rec.get('gradient') == 'full':
        return f'{rec["method"]} (full gradient)'
    return rec['method']


def plot_records(records: List[dict], path: str, title: str,
                 memory_limit: Optional[int] = None,
                 budget: Optional[int] = None) -> None:
    """Peak training memory (MiB, log y) against image side, one line per
    :func:`series`; oom points are crosses in the line's colour (at their
    lower bound when known, else at the memory limit)."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    from matplotlib import ticker

    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    methods = []
    for rec in records:
        if series(rec) not in methods:
            methods.append(series(rec))
    limit_mb = memory_limit / MIB if memory_limit else None
    sizes = sorted({rec['size'] for rec in records})
    ys = [r['peak_train_mb'] for r in records if r.get('peak_train_mb')]
    oom_label_done = False
    for method in methods:
        recs = sorted((r for r in records if series(r) == method),
                      key=lambda r: r['size'])
        model = next((r.get('model') for r in recs if r.get('model')), None)
        label = method if not model else f'{method} ({model})'
        ok = [r for r in recs if r.get('peak_train_mb') is not None]
        line, = ax.plot([r['size'] for r in ok],
                        [r['peak_train_mb'] for r in ok],
                        marker='o',
                        label=label)
        for r in recs:
            if r.get('peak_train_mb') is not None:
                continue
            if r['status'] == 'oom':
                y = r.get('min_needed_train_mb') or limit_mb or (
                    max(ys) if ys else 1.0)
                ax.plot([r['size']], [y],
                        marker='x',
                        color=line.get_color(),
                        markersize=11,
                        markeredgewidth=2.5,
                        linestyle='none',
                        label=None if oom_label_done else
                        'out of memory (at the lower bound)')
                oom_label_done = True
                ax.annotate(f'{method}: OOM', (r['size'], y),
                            textcoords='offset points',
                            xytext=(6, 6),
                            fontsize=8,
                            color=line.get_color())
                ys.append(y)
    from mmpatch.memory import format_bytes
    if limit_mb and oom_label_done:  # only where something did not fit
        ax.axhline(limit_mb, color='grey', linestyle=':', linewidth=1,
                   label=f'memory limit ({format_bytes(memory_limit)}, '
                   'address space)')
    if budget:
        ax.axhline(budget / MIB, color='green', linestyle='--', linewidth=1,
                   label=f'budget ({format_bytes(budget)})')
    ax.set_xscale('log', base=2)
    ax.set_yscale('log')
    ax.set_xticks(sizes)
    ax.set_xticklabels([f'{s}²' for s in sizes])
    ax.xaxis.set_minor_locator(ticker.NullLocator())
    ax.yaxis.set_major_locator(ticker.LogLocator(base=10, subs=(1, 2, 5)))
    ax.yaxis.set_major_formatter(ticker.FuncFormatter(
        lambda y, _: f'{y:g}'))
    ax.yaxis.set_minor_locator(ticker.NullLocator())
    ax.set_xlabel('image side (pixels)')
    ax.set_ylabel('peak training memory (MiB)')
    ax.set_title(title, fontsize=10)
    ax.grid(True, which='both', alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
