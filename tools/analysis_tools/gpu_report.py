"""The GPU section of docs/benchmarks.md, written from the JSON files that
``tools/device_check.sh`` leaves (``device_check.json``), kept in
``docs/gpu/``.

    python tools/analysis_tools/gpu_report.py [--json-dir docs/gpu]
        [--doc docs/benchmarks.md]   # rewrite the section in the page
        [--print]                    # print the section

:func:`render_gpu_section` gives the section's markdown (the newest real
GPU run in the folder; "not yet measured on a GPU" without one);
:func:`write_gpu_section` puts it into the page in place of the old one.
"""
import argparse
import glob
import json
import os.path as osp
import sys
from typing import Dict, List, Optional

TITLE = '## On a GPU'
GIB = 1024  # MiB
#: issue #21's goals for ours at 4096 px
GOAL_SIZE, GOAL_PEAK_MB, GOAL_RATIO, GOAL_OVER_FIXED = 4096, GIB, 20.0, 1.1


def latest_run(json_dir: str) -> Optional[Dict]:
    """The newest device check in ``json_dir`` that ran on a GPU (dry runs
    and runs without CUDA do not count), or None."""
    runs = []
    for path in sorted(glob.glob(osp.join(json_dir, '*.json'))):
        try:
            with open(path) as f:
                run = json.load(f)
        except (OSError, ValueError):
            continue
        if (isinstance(run, dict) and run.get('schema') == 1
                and not run.get('dry_run')
                and run.get('machine', {}).get('cuda_available')):
            runs.append(run)
    return max(runs, key=lambda r: r.get('date', '')) if runs else None


def _f(value, fmt='{:.0f}') -> str:
    return '—' if value is None else fmt.format(value)


def _by(records: List[Dict], method: str) -> Dict[int, Dict]:
    return {r['size']: r for r in records if r.get('method') == method}


def fcos_table(records: List[Dict]) -> List[str]:
    """Ours against full-image FCOS-R50 per size, then the goals."""
    ours, full = _by(records, 'ours'), _by(records, 'full')
    lines = [
        '| size | ours peak train (MiB) | full peak train (MiB) | full / '
        'ours | ours step (s) | full step (s) | ours inference (s) | full '
        'inference (s) | ours peak inference (MiB) | full peak inference '
        '(MiB) | status (ours / full) |', '| ---' * 11 + ' |'
    ]
    for size in sorted(set(ours) | set(full)):
        o, b = ours.get(size, {}), full.get(size, {})
        po, pb = o.get('peak_train_mb'), b.get('peak_train_mb')
        ratio = pb / po if po and pb else None
        lines.append(
            f'| {size} | {_f(po)} | {_f(pb)} | {_f(ratio, "{:.1f}×")} | '
            f'{_f(o.get("step_s"), "{:.2f}")} | '
            f'{_f(b.get("step_s"), "{:.2f}")} | '
            f'{_f(o.get("infer_s"), "{:.2f}")} | '
            f'{_f(b.get("infer_s"), "{:.2f}")} | '
            f'{_f(o.get("peak_infer_mb"))} | {_f(b.get("peak_infer_mb"))} | '
            f'{o.get("status", "—")} / {b.get("status", "—")} |')
    lines += ['', *goals(ours.get(GOAL_SIZE), full.get(GOAL_SIZE))]
    return lines


def goals(ours: Optional[Dict], full: Optional[Dict]) -> List[str]:
    """Issue #21's three goals for ours at 4096 px, each with its figures."""
    def verdict(ok: bool) -> str:
        return '**met**' if ok else '**not met**'

    peak = (ours or {}).get('peak_train_mb')
    if peak is None:
        return [f'Goals at {GOAL_SIZE}²: not measured (ours has no peak at '
                f'{GOAL_SIZE}²).']
    out = [f'Goals (issue #21), ours at {GOAL_SIZE}²:', '',
           f'- ≤ 1 GiB: {peak:.0f} MiB, {verdict(peak <= GOAL_PEAK_MB)};']
    base = (full or {}).get('peak_train_mb')
    out.append(
        f'- ≥ {GOAL_RATIO:.0f}× under full-image FCOS-R50: ' +
        (f'{base:.0f} / {peak:.0f} MiB = {base / peak:.1f}×, '
         f'{verdict(base / peak >= GOAL_RATIO)};' if base else
         f'full-image FCOS-R50 has no peak ({(full or {}).get("status")});'))
    fixed, latent = ours.get('fixed_mb'), ours.get('latent_mb')
    params = ours.get('num_params')
    if None in (fixed, latent, params):
        out.append('- ≤ 1.1 × (weights + gradients + optimizer state + Z): '
                   'not measured.')
        return out
    grads = params * 4 / 2**20
    ref = fixed + grads + latent
    out.append(
        f'- ≤ {GOAL_OVER_FIXED} × (weights + gradients + optimizer state + '
        f'Z): {peak:.0f} MiB against {GOAL_OVER_FIXED} × {ref:.0f} MiB = '
        f'{GOAL_OVER_FIXED * ref:.0f} MiB ({fixed:.0f} MiB allocated when '
        f'the measured step starts: weights and optimizer state; + '
        f'{grads:.0f} MiB gradients, 4 bytes for each of {params} '
        'parameters, an upper bound; + Z '
        f'{latent:.0f} MiB): {peak / ref:.2f}×, '
        f'{verdict(peak <= GOAL_OVER_FIXED * ref)}.')
    return out


def records_table(records: List[Dict]) -> List[str]:
    lines = ['| method | size | k | peak train (MiB) | peak inference (MiB) '
             '| step (s) | inference (s) | status |', '| ---' * 8 + ' |']
    for r in sorted(records, key=lambda r: (r.get('size', 0),
                                            r.get('method', ''))):
        lines.append(
            f'| {r.get("method")} | {r.get("size")} | {_f(r.get("k"))} | '
            f'{_f(r.get("peak_train_mb"))} | {_f(r.get("peak_infer_mb"))} | '
            f'{_f(r.get("step_s"), "{:.2f}")} | '
            f'{_f(r.get("infer_s"), "{:.2f}")} | {r.get("status", "—")} |')
    return lines


def render_gpu_section(json_dir: str = 'docs/gpu') -> str:
    """The GPU section of docs/benchmarks.md (markdown, ending in a
    newline) from the newest real device check in ``json_dir``."""
    run = latest_run(json_dir)
    parts = [TITLE, '']
    if run is None:
        parts += [
            'Not yet measured on a GPU. `tools/device_check.sh` (see '
            '[install.md](install.md#on-a-cuda-machine)) measures this '
            'section on a CUDA machine: FCOS-R50 ours at k = 1 against the '
            'stock full-image FCOS-R50 at 2048², 4096² and 8192², the '
            'UltraDigits U-Net and the PANDA ResNet-50; its '
            '`device_check.json` goes into `docs/gpu/`, from which '
            '`tools/analysis_tools/gpu_report.py` writes this section.', '']
        return '\n'.join(parts)
    m = run['machine']
    steps = ', '.join(f'{s["name"]} {s["status"]}' + (
        f' {s["seconds"]:.0f} s' if s.get('seconds') is not None else '')
        for s in run['steps'])
    tests = next((s.get('result') for s in run['steps']
                  if s['name'] == 'cuda_tests' and s.get('result')), None)
    parts += [
        f'Measured by `tools/device_check.sh` on {run["date"][:10]}: '
        f'{m.get("gpu")} ({_f(m.get("gpu_memory_mib"))} MiB), driver '
        f'{m.get("driver")}, CUDA {m.get("cuda")}; Python {m.get("python")}, '
        f'torch {m.get("torch")}, mmengine {m.get("mmengine")}, mmcv '
        f'{m.get("mmcv")} (CUDA ops {m.get("mmcv_ops_cuda")}), mmdet '
        f'{m.get("mmdet")}, mmseg {m.get("mmseg")}, mmpretrain '
        f'{m.get("mmpretrain")}. Peaks are `torch.cuda.max_memory_allocated` '
        f'(docs/memory.md). The check took {run["total_s"]:.0f} s of its '
        f'{run["budget_s"]:.0f} s ({steps}).', '']
    if tests:
        parts += [f'CUDA tests (`pytest -m cuda`): {tests["passed"]} passed, '
                  f'{tests["failed"]} failed, {tests["skipped"]} skipped.',
                  '']
    bench = run.get('benchmarks', {})
    config = run.get('configs', {}).get('fcos_r50',
                                        'configs/fcos_patchgd_sodad.py')
    parts += [f'### FCOS-R50 (`{config}`): ours at k = 1 against the stock '
              'full-image FCOS-R50', '']
    parts += (fcos_table(bench['fcos_r50']) if bench.get('fcos_r50') else
              ['Not measured in this run.'])
    parts.append('')
    for name, records in bench.items():
        if name != 'fcos_r50' and records:
            cfg = run.get('configs', {}).get(name, name)
            parts += [f'### `{cfg}`', '', *records_table(records), '']
    return '\n'.join(parts)


def write_gpu_section(doc: str = 'docs/benchmarks.md',
                      json_dir: str = 'docs/gpu') -> None:
    """Replace the page's GPU section (up to the next ``## `` heading or
    the end) by :func:`render_gpu_section`'s; append it when absent."""
    with open(doc) as f:
        lines = f.read().split('\n')
    section = render_gpu_section(json_dir).rstrip('\n').split('\n')
    if TITLE in lines:
        start = lines.index(TITLE)
        end = next((i for i in range(start + 1, len(lines))
                    if lines[i].startswith('## ')), len(lines))
        lines[start:end] = section + ([''] if end < len(lines) else [])
    else:
        while lines and lines[-1] == '':
            lines.pop()
        lines += [''] + section
    with open(doc, 'w') as f:
        f.write('\n'.join(lines).rstrip('\n') + '\n')


#: sizes of the dry run's fake records
#: (tools/analysis_tools/device_check.py --dry-run)
FAKE_SIZES = dict(fcos_r50=[2048, 4096, 8192],
                  unet_ultradigits=[2048, 4096], panda_r50=[4096])


def fake_records(name: str) -> List[Dict]:
    """Records in tools/analysis_tools/benchmark_memory.py's shape with
    made-up numbers, for dry runs and tests; each has ``fake: true``."""
    out = []
    for size in FAKE_SIZES.get(name, [1024]):
        scale = (size / 2048)**2
        out += [
            dict(method='ours', size=size, k=1, patch=512, status='ok',
                 peak_train_mb=400 + 30 * scale, peak_infer_mb=250,
                 step_s=0.5, infer_s=0.3, fixed_mb=250.0,
                 latent_mb=8 * scale, num_params=32_000_000, fake=True),
            dict(method='full', size=size, status='ok',
                 peak_train_mb=5000 * scale, peak_infer_mb=1000 * scale,
                 step_s=0.4 * scale, infer_s=0.1 * scale, fake=True)]
    return out


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--json-dir', default='docs/gpu')
    p.add_argument('--doc', default=None,
                   help='rewrite the GPU section of this page')
    p.add_argument('--print', action='store_true')
    a = p.parse_args(argv)
    if a.doc:
        write_gpu_section(a.doc, a.json_dir)
    if a.print or not a.doc:
        sys.stdout.write(render_gpu_section(a.json_dir))


if __name__ == '__main__':
    main()
