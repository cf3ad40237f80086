"""The sections of ``tools/analysis_tools/run_benchmarks.py``.

Each section module has ``run(ctx)`` (the measurements; results saved as
``docs/results/<name>.json``, :func:`.common.kept`) and
``render(ctx) -> {placeholder: markdown}`` (what it puts into
``docs/templates/benchmarks.md``); :mod:`.page` fills the template.
``det`` calls the detection comparison of issue #20
(``tools/analysis_tools/det_comparison.py``) and is skipped while that tool
is absent.
"""
from collections import OrderedDict
from functools import partial

from . import (budget, det, memory, pictures, streaming, tasks, tiff, timing,
               trade)

#: name -> (run, render), in the order a full run goes
SECTIONS = OrderedDict([
    ('det', (det.run, det.render)),
    ('det-demo', (partial(tasks.run, name='det-demo'),
                  partial(tasks.render, name='det-demo'))),
    ('seg', (partial(tasks.run, name='seg'),
             partial(tasks.render, name='seg'))),
    ('cls', (partial(tasks.run, name='cls'),
             partial(tasks.render, name='cls'))),
    ('time', (timing.run, timing.render)),
    ('trade', (trade.run, trade.render)),
    ('streaming', (streaming.run, streaming.render)),
    ('memory', (memory.run, memory.render)),
    ('budget', (budget.run, budget.render)),
    ('tiff', (tiff.run, tiff.render)),
    ('pictures', (pictures.run, pictures.render)),
])
#: what ``make benchmarks`` runs: everything but ``det-demo``, the small
#: UltraDigits detection comparison that ``det`` supersedes (opt-in: it
#: adds ~21 min; see tasks.py for the arithmetic)
DEFAULT = [name for name in SECTIONS if name != 'det-demo']
RENDERERS = [render for _, render in SECTIONS.values()]
