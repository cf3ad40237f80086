"""The validation curves of an accuracy task: the headline metric against
training time (time to accuracy) and against epochs (has it flattened?),
one colour per method, a thin line per seed and a thick one for the mean
over seeds."""
import os
import os.path as osp
from typing import Dict, List, Optional


def _points(run: dict, metric: str) -> List[tuple]:
    return [(p['train_s'], p.get('epoch'), p['metrics'][metric])
            for p in run.get('val_curve') or []
            if isinstance(p['metrics'].get(metric), (int, float))]


def mean_curve(runs: List[dict], metric: str) -> List[tuple]:
    """``(mean train_s, epoch, mean metric)`` at each validation that every
    seed reached."""
    curves = [_points(r, metric) for r in runs]
    curves = [c for c in curves if c]
    if not curves:
        return []
    n = min(len(c) for c in curves)
    return [(sum(c[i][0] for c in curves) / len(curves), curves[0][i][1],
             sum(c[i][2] for c in curves) / len(curves)) for i in range(n)]


def plot_curves(result: dict, metric: str, name: str, path: str,
                title: str, scale: float = 1.0) -> Optional[str]:
    """Draw ``path`` from a task's saved result; None without curves."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    rows: Dict[str, List[dict]] = {
        key: list(seeds.values())
        for key, seeds in result['runs'].items() if seeds
    }
    if not any(_points(r, metric) for runs in rows.values() for r in runs):
        return None
    fig, (ax_t, ax_e) = plt.subplots(1, 2, figsize=(10, 4))
    for i, (key, runs) in enumerate(rows.items()):
        color = f'C{i}'
        label = result['rows'][key]['label']
        for run in runs:
            pts = _points(run, metric)
            ax_t.plot([p[0] for p in pts], [p[2] * scale for p in pts],
                      color=color, alpha=0.3, linewidth=0.8)
            ax_e.plot([p[1] for p in pts], [p[2] * scale for p in pts],
                      color=color, alpha=0.3, linewidth=0.8)
        mean = mean_curve(runs, metric)
        ax_t.plot([p[0] for p in mean], [p[2] * scale for p in mean],
                  color=color, marker='o', markersize=3, linewidth=2,
                  label=f'{label} (mean of {len(runs)})')
        ax_e.plot([p[1] for p in mean], [p[2] * scale for p in mean],
                  color=color, marker='o', markersize=3, linewidth=2)
    ax_t.set_xlabel('training time (s, one thread; validation left out)')
    ax_e.set_xlabel('epoch')
    for ax in (ax_t, ax_e):
        ax.set_ylabel(f'validation {name}')
        ax.grid(True, alpha=0.3)
    ax_t.legend(fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
