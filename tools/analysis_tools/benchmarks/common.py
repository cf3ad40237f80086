"""What every section shares: where things are, the run's context, the
saved results."""
import json
import os
import os.path as osp
import subprocess
import sys
from dataclasses import dataclass, field
from typing import Any, List, Optional

#: the repository (sections run there: configs and tools are relative)
ROOT = osp.dirname(osp.dirname(osp.dirname(osp.dirname(
    osp.abspath(__file__)))))
TOOLS = osp.join(ROOT, 'tools', 'analysis_tools')
PAGE = osp.join(ROOT, 'docs', 'benchmarks.md')
TEMPLATE = osp.join(ROOT, 'docs', 'templates', 'benchmarks.md')
IMAGES = osp.join(ROOT, 'docs', 'images')
GPU_JSON = osp.join(ROOT, 'docs', 'gpu')
COMMAND = 'python tools/analysis_tools/run_benchmarks.py'


@dataclass
class Context:
    """One ``run_benchmarks.py`` invocation.

    Attributes:
        work: where the sections run (``WORK/<section>/``) and, for a smoke
            run or a page written elsewhere, keep their results.
        images: where pictures and plots go (``docs/images``).
        page: the page to write (``docs/benchmarks.md``).
        seeds: seeds of the accuracy runs (``randomness.seed``).
        jobs: accuracy runs at a time (each on ``threads`` threads).
        threads: ``OMP_NUM_THREADS`` of every run.
        smoke: a tiny run that exercises every step (a few iterations on a
            few images, small sizes); its figures mean nothing.
        memory_runs: the memory runs to redo (None: all).
    """
    work: str
    images: str = IMAGES
    page: str = PAGE
    seeds: List[int] = field(default_factory=lambda: [0, 1, 2])
    jobs: int = 2
    threads: int = 1
    smoke: bool = False
    memory_runs: Optional[List[str]] = None

    def path(self, *parts: str) -> str:
        return osp.join(self.work, *parts)

    def image(self, name: str) -> str:
        return osp.join(self.images, name)

    def link(self, path: str) -> str:
        """``path`` as the page links it (relative to the page)."""
        return osp.relpath(path, osp.dirname(osp.abspath(self.page)))


def load(ctx: Context, name: str) -> Optional[Any]:
    """A section's saved results (``kept(ctx, '<name>.json')``), or None
    when that section has not run."""
    path = kept(ctx, f'{name}.json')
    if not osp.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def save(ctx: Context, name: str, obj: Any) -> str:
    """Save a section's results where :func:`kept` says: committed under
    ``docs/results/`` for the real page, so the page is rendered from
    results in the repository."""
    path = kept(ctx, f'{name}.json')
    os.makedirs(osp.dirname(path), exist_ok=True)
    tmp = path + '.tmp'
    with open(tmp, 'w') as f:
        json.dump(obj, f, indent=2)
    os.replace(tmp, path)
    return path


def run_tool(ctx: Context, *argv: str,
             **kwargs) -> subprocess.CompletedProcess:
    """A repository tool in a fresh interpreter, on ``ctx.threads``
    threads, from the repository root."""
    env = dict(os.environ, OMP_NUM_THREADS=str(ctx.threads))
    env.setdefault('PYTHONWARNINGS', 'ignore:pkg_resources is deprecated')
    kwargs.setdefault('check', True)
    return subprocess.run([sys.executable, *argv], cwd=ROOT, env=env,
                          **kwargs)


def kept(ctx: Context, name: str) -> str:
    """Where a section keeps its raw results: committed under
    ``docs/results/<name>`` when the run writes the real page, in the work
    folder for a smoke run or a page written elsewhere."""
    if ctx.page == PAGE and not ctx.smoke:
        return osp.join(ROOT, 'docs', 'results', name)
    return ctx.path(name)


def not_run(section: str) -> str:
    """The placeholder of a section without results."""
    return (f'*Not run yet: `{COMMAND} --only {section}`.*')
