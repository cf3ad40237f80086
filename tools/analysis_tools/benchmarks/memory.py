"""The memory section: ``benchmark_memory.py`` runs, one table and plot per
figure of the page, and the growth checks of the sampled and the
full-gradient step."""
from typing import Dict, List, Optional

from .common import Context, kept, load, not_run, run_tool, save

BM = 'tools/analysis_tools/benchmark_memory.py'
R50 = 'configs/det/fcos_patchgd_sodad.py'
# one inner iteration of k = 1: the peak of every inner iteration is the
# same, so one shows it (a 4096 px R50 step takes minutes here)
K1 = ['--cfg-options', 'model.patch_cfg.inner_iters=1',
      'model.patch_cfg.patches_per_iter=1']
#: the runs, by name (``--memory-runs`` picks some), in page order
RUNS = {
    # 2048 and 4096 px: issue #19's rows and growth checks (1024 px, once
    # on the page, was left out to keep make benchmarks near 3 hours)
    'fcos_r50': [R50, '--sizes', '2048', '4096', '--baseline', 'full',
                 '--steps', '1', '--timeout', '1800', *K1, '--budget', '2G'],
    'fcos_r50_full': ['configs/det/fcos_patchgd_sodad_full.py', '--sizes',
                      '2048', '4096', '--baseline', 'none', '--steps', '1',
                      '--timeout', '1800', '--budget', '2G'],
    # the stock mmdet network as the baseline: no activation
    # checkpointing in the backbone (the run above gives the baseline
    # ours' backbone.with_cp=True)
    'fcos_r50_stock': [R50, '--sizes', '1024', '2048', '--baseline', 'full',
                       '--steps', '1', '--timeout', '1800', *K1,
                       '--baseline-cfg-options',
                       'model.backbone.with_cp=False', '--budget', '2G'],
    # the images memory-mapped and read patch by patch (LoadLazyImage);
    # ours only: the full baseline needs the whole image
    'fcos_r50_mapped': [R50, '--sizes', '1024', '2048', '4096', '--baseline',
                        'none', '--steps', '1', '--timeout', '1800',
                        '--image-source', 'mapped', *K1, '--budget', '2G'],
    'ultradigits_det': ['configs/det/fcos_patchgd_ultradigits.py', '--sizes',
                        '1024', '2048', '8192', '--baseline', 'full',
                        '--steps', '1'],
    'ultradigits_det_full': ['configs/det/fcos_patchgd_ultradigits_full.py',
                             '--sizes', '1024', '2048', '--steps', '1'],
    'unet_seg': ['configs/seg/unet_patchgd_ultradigits.py', '--sizes', '1024',
                 '2048', '--baseline', 'full', '--steps', '1'],
    'unet_seg_full': ['configs/seg/unet_patchgd_ultradigits_full.py',
                      '--sizes', '1024', '2048', '--steps', '1'],
    'resnet_cls': ['configs/cls/resnet_patchgd_ultradigits.py', '--sizes',
                   '1024', '2048', '--baseline', 'full', '--steps', '1'],
    'resnet_cls_full': ['configs/cls/resnet_patchgd_ultradigits_full.py',
                        '--sizes', '1024', '2048', '--steps', '1'],
}
#: the smoke run: the UltraDigits runs at small sizes
SMOKE_RUNS = {
    'ultradigits_det': ['configs/det/fcos_patchgd_ultradigits.py', '--sizes',
                        '256', '512', '--baseline', 'full', '--steps', '1'],
    'ultradigits_det_full': ['configs/det/fcos_patchgd_ultradigits_full.py',
                             '--sizes', '256', '512', '--steps', '1'],
}
#: the page's figures: (placeholder, runs, growth check sizes or None)
FIGURES = [
    ('memory_fcos_r50', ['fcos_r50', 'fcos_r50_full'], (2048, 4096)),
    ('memory_fcos_r50_stock', ['fcos_r50_stock'], None),
    ('memory_fcos_r50_mapped', ['fcos_r50_mapped'], (2048, 4096)),
    ('memory_ultradigits_det', ['ultradigits_det', 'ultradigits_det_full'],
     None),
    ('memory_unet_seg', ['unet_seg', 'unet_seg_full'], None),
    ('memory_resnet_cls', ['resnet_cls', 'resnet_cls_full'], None),
]


def run(ctx: Context) -> Dict[str, List[Dict]]:
    """The runs (``ctx.memory_runs``, or all); each keeps its records in
    ``docs/results/memory_<name>.json`` (:func:`~.common.kept`), which the
    page reads."""
    runs = SMOKE_RUNS if ctx.smoke else RUNS
    results = {}
    for name, args in runs.items():
        if ctx.memory_runs and name not in ctx.memory_runs:
            continue
        out = kept(ctx, f'memory_{name}.json')
        run_tool(ctx, BM, *args, '--json', out)
        results[name] = load(ctx, f'memory_{name}')
    if not ctx.memory_runs:
        save(ctx, 'memory', results)
    return results


def method(rec: Dict) -> str:
    if rec['method'] != 'ours':
        return {'full': 'full image'}.get(rec['method'], rec['method'])
    return ('ours, full gradient' if rec.get('gradient') == 'full' else
            'ours, sampled')


def memory_table(records: List[Dict]) -> str:
    lines = ['| method | size | patch | k | chunk | peak train (MiB) | '
             'peak inference (MiB) | step (s) | inference (s) | status |',
             '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |']
    for r in sorted(records, key=lambda r: r['size']):
        def f(key, fmt='{:.0f}'):
            v = r.get(key)
            return fmt.format(v) if isinstance(v, (int, float)) else '—'
        lines.append(
            f'| {method(r)} | {r["size"]} | {r.get("patch") or "—"} | '
            f'{r.get("k") or "—"} | {r.get("backward_chunk") or "—"} | '
            f'{f("peak_train_mb")} | {f("peak_infer_mb")} | '
            f'{f("step_s", "{:.1f}")} | {f("infer_s", "{:.1f}")} | '
            f'{r["status"]} |')
    return '\n'.join(lines)


def _pair(records: List[Dict], gradient: str, small: int, large: int):
    ours = {r['size']: r for r in records
            if r['method'] == 'ours' and r['status'] == 'ok'
            and (r.get('gradient') or 'sampled') == gradient}
    if small not in ours or large not in ours:
        return None
    a, b = ours[small], ours[large]
    if not all(isinstance(r.get(k), (int, float)) for r in (a, b)
               for k in ('peak_train_mb', 'latent_mb', 'fixed_mb')):
        return None
    return a, b


def _held(mapped: bool) -> str:
    return ('the images are memory-mapped and read patch by patch, so what '
            'is live before the step (`fixed_mb`: weights, optimizer state, '
            'the batch\'s zero-channel stand-ins) grows by '
            if mapped else
            'live before the step starts (`fixed_mb`: the loaded uint8 '
            'batch, 3 bytes per pixel; weights and optimizer state do not '
            'change) grows by ')


def growth_sampled(records: List[Dict], small: int = 2048,
                   large: int = 4096) -> Optional[str]:
    """How the sampled step grows from ``small`` to ``large`` px, against
    Z's growth."""
    pair = _pair(records, 'sampled', small, large)
    if pair is None:
        return None
    a, b = pair
    peak = b['peak_train_mb'] - a['peak_train_mb']
    z = b['latent_mb'] - a['latent_mb']
    fixed = b['fixed_mb'] - a['fixed_mb']
    step = peak - fixed
    held = _held(a.get('image_source') == 'mapped')
    return (f'From {small}² to {large}² (k = {a.get("k")}), ours grows by '
            f'{peak:.1f} MiB and Z by {z:.1f} MiB; {held}{fixed:.1f} MiB and '
            f'the step itself by {step:.1f} MiB, {step / z:.2f}× Z\'s '
            f'growth. Peak growth within 1.1 × Z\'s growth '
            f'({1.1 * z:.1f} MiB): **{peak <= 1.1 * z}**.')


def growth_full(records: List[Dict], small: int = 2048,
                large: int = 4096) -> Optional[str]:
    """Issue #19's check of the full-gradient step: from ``small`` to
    ``large`` px at a fixed chunk, the peak grows by no more than Z's and
    dL/dZ's growth (dL/dZ has Z's size) plus 10 %."""
    pair = _pair(records, 'full', small, large)
    if pair is None:
        return None
    a, b = pair
    if a.get('backward_chunk') != b.get('backward_chunk'):
        return (f'The full-gradient records at {small}² and {large}² have '
                f'different chunks ({a.get("backward_chunk")}, '
                f'{b.get("backward_chunk")}): no growth check.')
    peak = b['peak_train_mb'] - a['peak_train_mb']
    z = b['latent_mb'] - a['latent_mb']
    fixed = b['fixed_mb'] - a['fixed_mb']
    step = peak - fixed
    bound = 1.1 * 2 * z
    held = _held(a.get('image_source') == 'mapped')
    return (f'Full gradient, from {small}² to {large}² at a fixed chunk of '
            f'{a.get("backward_chunk")} patches: the peak grows by '
            f'{peak:.1f} MiB, Z by {z:.1f} MiB and dL/dZ (Z\'s size) by as '
            f'much; {held}{fixed:.1f} MiB and the step itself by '
            f'{step:.1f} MiB, {step / (2 * z):.2f}× the growth of Z and '
            f'dL/dZ. Within 1.1 × (Z + dL/dZ)\'s growth ({bound:.1f} MiB): '
            f'the peak **{peak <= bound}**, the step **{step <= bound}**.')


def render(ctx: Context) -> Dict[str, str]:
    """One placeholder per figure: the plot, the table, the checks."""
    import os.path as osp

    # benchmark_memory.py's modules, beside run_benchmarks.py
    from membench.plot import plot_records
    out = {}
    for key, names, sizes in FIGURES:
        records = [r for name in names
                   for r in (load(ctx, f'memory_{name}') or [])]
        if not records:
            out[key] = not_run('memory')
            continue
        image = ctx.image(f'{key}.png')
        plot_records(records, image,
                     f'{osp.basename(records[0]["config"])}: peak of one '
                     f'training step ({records[0].get("memory_method")})',
                     (records[0].get('memory_limit_mb') or 0) * 2**20)
        parts = [f'![memory]({ctx.link(image)})', '', memory_table(records)]
        if sizes:
            for check in (growth_sampled(records, *sizes),
                          growth_full(records, *sizes)):
                if check:
                    parts += ['', check]
        out[key] = '\n'.join(parts)
    return out
