"""The time section: each accuracy config's training step at its training
size and batch, on one thread, timed without the memory meter
(``benchmark_memory.py --steps N --threads 1``: a warm-up, one metered
step for the peak, then the median of ``N - 2`` unmetered steps), with the
stock model on the whole image beside the sampled config; and FCOS-R50 at
1024² the same way. The page gives the full-gradient step over the
full-image step (issue #19's goal: at most 1.3×) and over the sampled
step of the same config."""
from typing import Dict, List, Optional

from .common import Context, kept, load, not_run, run_tool, save

BM = 'tools/analysis_tools/benchmark_memory.py'
ONE = ['--threads', '1']


def _runs(steps: int) -> Dict[str, Dict[str, List[str]]]:
    """model -> run name -> benchmark_memory.py arguments."""
    s = ['--steps', str(steps), *ONE]
    r50 = ['--steps', str(min(steps, 3)), *ONE]  # a 1024 px step: ~15 s
    return {
        'ultradigits_det': {
            'sampled': ['configs/det/fcos_patchgd_ultradigits.py', '--sizes',
                        '1024', '--batch-size', '2', '--baseline', 'full',
                        *s],
            'full': ['configs/det/fcos_patchgd_ultradigits_full.py',
                     '--sizes', '1024', '--batch-size', '2', *s],
            'downsampled': [
                'configs/det/baselines/fcos_downsampled_ultradigits.py',
                '--sizes', '256', '--batch-size', '2', *s],
        },
        'unet_seg': {
            'sampled': ['configs/seg/unet_patchgd_ultradigits.py', '--sizes',
                        '512', '--batch-size', '2', '--baseline', 'full', *s],
            'full': ['configs/seg/unet_patchgd_ultradigits_full.py',
                     '--sizes', '512', '--batch-size', '2', *s],
            'downsampled': [
                'configs/seg/baselines/unet_downsampled_ultradigits.py',
                '--sizes', '128', '--batch-size', '2', *s],
        },
        'resnet_cls': {
            'sampled': ['configs/cls/resnet_patchgd_ultradigits.py', '--sizes',
                        '1024', '--batch-size', '4', '--baseline', 'full',
                        *s],
            'full': ['configs/cls/resnet_patchgd_ultradigits_full.py',
                     '--sizes', '1024', '--batch-size', '4', *s],
            'downsampled': [
                'configs/cls/baselines/resnet_downsampled_ultradigits.py',
                '--sizes', '296', '--batch-size', '4', *s],
            'noglobal': [
                'configs/cls/baselines/'
                'resnet_patchgd_noglobal_ultradigits.py', '--sizes', '1024',
                '--batch-size', '4', *s],
        },
        'fcos_r50': {
            # the stock mmdet FCOS-R50 (no activation checkpointing)
            'sampled': ['configs/det/fcos_patchgd_sodad.py', '--sizes',
                        '1024', '--baseline', 'full',
                        '--baseline-cfg-options',
                        'model.backbone.with_cp=False', *r50],
            'full': ['configs/det/fcos_patchgd_sodad_full.py', '--sizes',
                     '1024', *r50],
            # the same step without θ1's activation checkpointing, as the
            # stock baseline: what the full-gradient step itself costs
            'full_nocp': ['configs/det/fcos_patchgd_sodad_full.py',
                          '--sizes', '1024', '--cfg-options',
                          'model.backbone.with_cp=False', *r50],
        },
    }


#: full-gradient variants timed beside a model's own rows: run name ->
#: what the summary line says of it
VARIANTS = {'full_nocp': 'full gradient, θ1 without `with_cp`'}


#: the smoke run: the UltraDigits detector only, at a small size
def _smoke_runs() -> Dict[str, Dict[str, List[str]]]:
    s = ['--steps', '3', *ONE]
    return {'ultradigits_det': {
        'sampled': ['configs/det/fcos_patchgd_ultradigits.py', '--sizes',
                    '256', '--batch-size', '2', '--baseline', 'full', *s],
        'full': ['configs/det/fcos_patchgd_ultradigits_full.py', '--sizes',
                 '256', '--batch-size', '2', *s]}}


def run(ctx: Context) -> Dict[str, List[Dict]]:
    runs = _smoke_runs() if ctx.smoke else _runs(steps=5)
    results: Dict[str, List[Dict]] = {}
    for model, named in runs.items():
        records = []
        for name, args in named.items():
            out = kept(ctx, f'time_{model}_{name}.json')
            run_tool(ctx, BM, *args, '--json', out)
            records += [dict(r, row=name) for r in load(
                ctx, f'time_{model}_{name}')]
        results[model] = records
        save(ctx, 'time', results)
    return results


def _step(records: List[Dict], row: str, method: str = 'ours'
          ) -> Optional[Dict]:
    return next((r for r in records if r.get('row') == row
                 and r['method'] == method and r['status'] == 'ok'), None)


def _ratio(a: Optional[Dict], b: Optional[Dict]) -> str:
    if not a or not b or not a.get('step_s') or not b.get('step_s'):
        return '—'
    return f'{a["step_s"] / b["step_s"]:.2f}×'


def _s(rec: Optional[Dict]) -> str:
    return f'{rec["step_s"]:.2f}' if rec and rec.get('step_s') else '—'


def summary(results: Dict[str, List[Dict]]) -> str:
    """Step times and the ratios, one line per model."""
    lines = ['| model | size, batch | sampled step (s) | full-gradient step '
             '(s) | full-image step (s) | full gradient / full image '
             '(goal ≤ 1.3×) | full gradient / sampled |',
             '| --- | --- | --- | --- | --- | --- | --- |']
    for model, records in results.items():
        sampled, full = _step(records, 'sampled'), _step(records, 'full')
        image = _step(records, 'sampled', 'full')
        ref = sampled or full or {}
        lines.append(
            f'| {model} | {ref.get("size", "—")}², '
            f'{ref.get("batch_size", "—")} | {_s(sampled)} | {_s(full)} | '
            f'{_s(image)} | {_ratio(full, image)} | '
            f'{_ratio(full, sampled)} |')
        for row, what in VARIANTS.items():
            variant = _step(records, row)
            if variant:
                lines.append(
                    f'| {model} ({what}) | {variant["size"]}², '
                    f'{variant["batch_size"]} | {_s(sampled)} | '
                    f'{_s(variant)} | {_s(image)} | '
                    f'{_ratio(variant, image)} | {_ratio(variant, sampled)} |')
    return '\n'.join(lines)


def detail(results: Dict[str, List[Dict]]) -> str:
    """Every record: config, input, step, peak."""
    lines = ['| config | method | input, batch | step (s) | step CPU (s) | '
             'peak train (MiB) | status |',
             '| --- | --- | --- | --- | --- | --- | --- |']
    for records in results.values():
        for r in records:
            name = (f'`{r["config"]}`' if r['method'] == 'ours' else
                    f'`{r["config"]} → stock {r.get("model")}`')
            if r.get('row') in VARIANTS:
                name += f' ({VARIANTS[r["row"]]})'
            peak = r.get('peak_train_mb')
            lines.append(
                f'| {name} | {r["method"]} | {r["input_size"]}², '
                f'{r["batch_size"]} | {_s(r)} | '
                f'{r.get("step_cpu_s") or "—"} | '
                f'{"—" if peak is None else f"{peak:.0f}"} | '
                f'{r["status"]} |')
    return '\n'.join(lines)


def render(ctx: Context) -> Dict[str, str]:
    results = load(ctx, 'time')
    if not results:
        return {'time': not_run('time')}
    return {'time': summary(results) + '\n\nEvery measurement:\n\n' +
            detail(results)}
