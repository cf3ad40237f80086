"""The page: ``docs/templates/benchmarks.md`` (prose, with ``${name}``
placeholders, :class:`string.Template`) filled from every section's saved
results. A section without results fills its placeholders with the command
that makes them, so the page can always be written; but where the page
already holds that part measured (the results live on the machine that
made them), the part under that heading is kept as it is
(:func:`keep_measured`), so rendering the sections measured here never
erases the others."""
import os
import os.path as osp
import time
from string import Template
from typing import Callable, Dict, List

from .common import GPU_JSON, TEMPLATE, Context, load


def header(ctx: Context) -> Dict[str, str]:
    """``date``, ``took``: the sections' wall time (kept across ``--only``
    runs in ``timings.json``, :func:`.common.save`)."""
    timings = load(ctx, 'timings') or {}
    took = ', '.join(
        f'{name} {t["seconds"] / 60:.0f} min' +
        (f' (OMP_NUM_THREADS={t["threads"]})' if t.get('threads') else '')
        for name, t in timings.items())
    total = sum(t['seconds'] for t in timings.values()) / 60
    return dict(date=time.strftime('%Y-%m-%d'),
                took=(f'{total:.0f} min in all ({took})' if timings else
                      'not timed yet'))


def gpu(ctx: Context) -> Dict[str, str]:
    """The GPU section (``gpu_report.py``, beside ``run_benchmarks.py``),
    without its title (the template has it)."""
    from gpu_report import TITLE, render_gpu_section
    text = render_gpu_section(GPU_JSON).strip()
    if text.startswith(TITLE):
        text = text[len(TITLE):].strip()
    return {'gpu': text}


def fill(ctx: Context, renderers: List[Callable[[Context], Dict[str, str]]],
         template: str = TEMPLATE) -> str:
    """The template with every placeholder filled; a placeholder that no
    renderer fills is an error (``KeyError``), not a silent gap."""
    values: Dict[str, str] = {}
    for render in [header, gpu, *renderers]:
        values.update(render(ctx))
    with open(template, encoding='utf-8') as f:
        return Template(f.read()).substitute(values)


#: what an unmeasured part of the page says (common.not_run, header)
NOT_MEASURED = ('*Not run yet', 'not timed yet')


def _parts(text: str) -> List[List[str]]:
    """The page cut before every heading line (the first part: the title)."""
    parts: List[List[str]] = [[]]
    for line in text.splitlines():
        if line.startswith('#') and parts[-1]:
            parts.append([])
        parts[-1].append(line)
    return parts


def keep_measured(new: str, old: str) -> str:
    """``new`` with every part (heading to next heading) that says it is
    not measured replaced by ``old``'s part under the same heading, where
    ``old`` has one that is measured."""
    olds = {p[0]: p for p in _parts(old)}
    out = []
    for part in _parts(new):
        body = '\n'.join(part)
        prev = olds.get(part[0])
        if prev and any(m in body for m in NOT_MEASURED) and not any(
                m in '\n'.join(prev) for m in NOT_MEASURED):
            part = prev
        out.extend(part)
    return '\n'.join(out) + '\n'


def write_page(ctx: Context, renderers) -> str:
    text = fill(ctx, renderers)
    if osp.exists(ctx.page):
        with open(ctx.page, encoding='utf-8') as f:
            text = keep_measured(text, f.read())
    os.makedirs(osp.dirname(osp.abspath(ctx.page)), exist_ok=True)
    with open(ctx.page, 'w', encoding='utf-8') as f:
        f.write(text.rstrip('\n') + '\n')
    return ctx.page
