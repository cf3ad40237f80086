"""The parent's records: one spec per (method, size) to measure, the record
kept of each (the JSON fields that tests and docs rely on), the budget
check and the printed table."""
import os.path as osp
from typing import Any, Dict, List, Optional

from .failures import one_line

MIB = 2**20


def build_specs(args) -> List[dict]:
    """One spec per (size, method), ours first."""
    from mmengine.config import Config

    from .models import patch_size

    # the subprocesses import the libraries; the parent only reads keys
    cfg = Config.fromfile(args.config, import_custom_modules=False)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    patch = patch_size(cfg.model.to_dict())
    specs = []
    base = dict(
        steps=args.steps,
        batch_size=args.batch_size,
        device=args.device,
        seed=args.seed,
        breakdown=args.breakdown,
        threads=args.threads,
        memory_limit=args.memory_limit)
    for size in args.sizes:
        specs.append(
            dict(base, method='ours', config=osp.abspath(args.config),
                 config_name=args.config, cfg_options=args.cfg_options,
                 size=size, input_size=size, stock=False, patch=patch,
                 image_source=args.image_source))
        if args.baseline == 'none':
            continue
        if args.baseline == 'downsampled' and not patch:
            raise SystemExit(
                f'--baseline downsampled needs the patch size of {args.config}'
                ' (model.patch_cfg.patch_size)')
        bcfg = args.baseline_config or args.config
        bopts = dict(({} if args.baseline_config else args.cfg_options)
                     or {}, **(args.baseline_cfg_options or {}))
        specs.append(
            dict(base, method=args.baseline, config=osp.abspath(bcfg),
                 config_name=bcfg,
                 cfg_options=bopts or None,
                 size=size,
                 input_size=patch if args.baseline == 'downsampled' else size,
                 stock=args.baseline_config is None, patch=patch))
    return specs


def make_record(spec: dict, out: dict, args) -> Dict[str, Any]:
    ours = spec['method'] == 'ours'
    rec = dict(
        method=spec['method'],
        task=out.get('task'),
        size=spec['size'],
        patch=out.get('patch', spec['patch']) if ours else None,
        k=out.get('k'),
        peak_train_mb=out.get('peak_train_mb'),
        peak_infer_mb=out.get('peak_infer_mb'),
        step_s=out.get('step_s'),
        infer_s=out.get('infer_s'),
        status=out.get('status', 'error: no status'),
        image_source=spec.get('image_source', 'memory'),
        latent_mb=out.get('latent_mb'),
        memory_method=out.get('memory_method'),
        config=spec['config_name'],
        model=out.get('model'),
        input_size=spec['input_size'],
        grid=out.get('grid'),
        batch_size=spec['batch_size'],
        device=spec['device'],
        fixed_mb=out.get('fixed_mb'),
        fill_s=out.get('fill_s'),
        train_status=out.get('train_status'),
        infer_status=out.get('infer_status'),
        rss_peak_mb=out.get('rss_peak_mb'),
        memory_limit_mb=(round(args.memory_limit / MIB)
                         if args.memory_limit else None),
        steps=spec['steps'],
        wall_s=out.get('wall_s'))
    for key in ('step_cpu_s', 'infer_cpu_s', 'timed_with_meter',
                'warmup_peak_mb', 'vm_setup_mb',
                'min_needed_train_mb', 'plan', 'breakdown', 'detail',
                'inner_iters', 'fill_chunk', 'warmup_s', 'num_params',
                'threads', 'gradient', 'backward_chunk', 'kept_chunks',
                'step_times_s'):
        if key in out:
            rec[key] = out[key]
    if spec.get('cfg_options'):
        rec['cfg_options'] = spec['cfg_options']
    if args.budget:
        rec['over_budget'] = over_budget(rec, args.budget)
    return rec


def over_budget(rec: dict, budget: int) -> Optional[bool]:
    """Whether a record's peak exceeds ``budget`` bytes (None: unknown)."""
    peaks = [rec.get('peak_train_mb'), rec.get('peak_infer_mb')]
    if rec.get('min_needed_train_mb') is not None:
        peaks.append(rec['min_needed_train_mb'])
    known = [p for p in peaks if p is not None]
    if any(p * MIB > budget for p in known):
        return True
    if rec['status'] != 'ok':  # a peak is missing: unknown
        return None
    return False if known else None


def fmt(value, digits=1) -> str:
    if value is None:
        return '-'
    if isinstance(value, float):
        return f'{value:.{digits}f}'
    return str(value)


def format_table(records: List[dict]) -> str:
    cols = [('method', 'method', None), ('size', 'size', None),
            ('input', 'input_size', None), ('k', 'k', None),
            ('grid', 'grid', None), ('train MiB', 'peak_train_mb', 1),
            ('infer MiB', 'peak_infer_mb', 1), ('step s', 'step_s', 2),
            ('infer s', 'infer_s', 2), ('Z MiB', 'latent_mb', 1),
            ('status', 'status', None)]
    rows = [[name for name, _, _ in cols]]
    for rec in records:
        row = []
        for _, key, digits in cols:
            value = rec.get(key)
            if key == 'method' and rec.get('gradient') == 'full':
                value = f'{value} (full gradient)'
            if key == 'grid' and value:
                value = 'x'.join(map(str, value))
            if key == 'peak_train_mb' and value is None and \
                    rec.get('min_needed_train_mb') is not None:
                value = f'>{rec["min_needed_train_mb"]:.0f}'
            if key == 'status':
                value = one_line(value, 60)  # the JSON has all of it
                if rec.get('over_budget'):
                    value = f'{value} (over budget)'
            row.append(fmt(value, digits or 1) if digits else fmt(value))
        rows.append(row)
    widths = [max(len(r[i]) for r in rows) for i in range(len(cols))]
    lines = []
    for n, row in enumerate(rows):
        lines.append('  '.join(
            cell.ljust(w) if i in (0, len(cols) - 1) else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(row, widths))))
        if n == 0:
            lines.append('  '.join('-' * w for w in widths))
    return '\n'.join(lines)
