"""`make benchmarks`: regenerate every number and picture of
docs/benchmarks.md.

    python tools/analysis_tools/run_benchmarks.py [--work-dir DIR]
        [--only det det-demo seg cls time trade streaming memory budget tiff
                pictures | page]
        [--memory-runs fcos_r50 ...] [--seeds 0 1 2] [--jobs 2]
        [--epochs seg=3 ...] [--page docs/benchmarks.md]
        [--images docs/images] [--smoke]

Sections (``benchmarks/``; each saves ``docs/results/<section>.json``,
committed, or ``WORK/<section>.json`` for a smoke run or a page written
elsewhere, so any can be rerun alone and the page is always written from
every saved result):

* ``det``: the detection comparison of issue #20
  (``det_comparison.py``; skipped while it is absent);
* ``det-demo`` (opt-in), ``seg``, ``cls``: accuracy on UltraDigits, the
  sampled PatchGD config, its full-gradient variant at the same memory and
  the baselines, each trained for the same number of epochs with a
  validation curve, over ``--seeds``, ``--jobs`` runs at a time on one
  thread each; reported as mean ± std, with time-to-accuracy figures;
* ``time``: the step time of every accuracy config (and FCOS-R50) on one
  thread without the memory meter, against the full-image step;
* ``trade``: the full-gradient step's time against its peak as it keeps
  more fill chunks (``trade_curve.py``; kept in docs/results/trade/);
* ``streaming``: beside StreamingCNN (``streaming_compare.py``; kept in
  docs/results/streaming.json);
* ``memory``: ``benchmark_memory.py`` runs: FCOS-R50 and the UltraDigits
  models, sampled, full gradient and full image, against image size;
* ``budget``: FCOS-R50 under ``memory_budget='1G'``;
* ``tiff``: a 20480 px BigTIFF read by region against decoded whole
  (``tiff_memory.py``; its result kept in docs/results/);
* ``pictures``: predictions on a whole test canvas.

The whole default run takes ~185 min on a quiet 2-core machine: det ~60
(measured 2026-12-05: 15 runs, two at a time), seg ~44, cls ~16 (benchmarks/tasks.py has the
arithmetic), time ~11, memory ~40 (the FCOS-R50 full-image step at 4096 px
alone ~6 min, the full-gradient one about as long), budget ~10, pictures
~2; det-demo adds ~21. ``--only page`` rewrites the page from the saved
results. The page is
``docs/templates/benchmarks.md`` filled in (``benchmarks/page.py``), with
the GPU section of ``gpu_report.py``. ``--smoke`` runs every section tiny
(one seed, a few images, small sizes; no budget run) to check the
machinery: write it elsewhere (``--work-dir /tmp/... --page /tmp/...``).
"""
import argparse
import os
import os.path as osp
import time

# the sections, beside this script (Python puts its folder on sys.path)
from benchmarks import DEFAULT, RENDERERS, SECTIONS
from benchmarks.common import IMAGES, PAGE, ROOT, Context, load, save
from benchmarks.page import write_page
from benchmarks.tasks import TASKS


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--work-dir', default='work_dirs/benchmarks')
    parser.add_argument('--only', nargs='+', default=DEFAULT,
                        choices=[*SECTIONS, 'page'],
                        help="sections to run (default: all but det-demo); "
                        "'page' alone rewrites the page from saved results")
    parser.add_argument('--memory-runs', nargs='+',
                        help='with --only memory: redo only these runs')
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument('--jobs', type=int, default=2,
                        help='accuracy runs at a time (default 2: the two '
                        'cores, one thread each)')
    parser.add_argument('--threads', type=int, default=1,
                        help='OMP_NUM_THREADS of every run (default 1)')
    parser.add_argument('--epochs', nargs='+', default=[],
                        metavar='TASK=N', help='override a task\'s epochs, '
                        f'e.g. seg=3 (tasks: {", ".join(TASKS)})')
    parser.add_argument('--page', default=PAGE)
    parser.add_argument('--images', default=IMAGES)
    parser.add_argument('--smoke', action='store_true',
                        help='a tiny run of every section (meaningless '
                        'figures)')
    args = parser.parse_args(argv)
    for item in args.epochs:
        name, _, value = item.partition('=')
        if name not in TASKS or not value.isdigit():
            parser.error(f'--epochs {item}: expected TASK=N with TASK in '
                         f'{list(TASKS)}')
        TASKS[name].epochs = int(value)
    return args


def main(argv=None) -> None:
    args = parse_args(argv)
    ctx = Context(work=osp.abspath(args.work_dir),
                  images=osp.abspath(args.images),
                  page=osp.abspath(args.page), seeds=args.seeds,
                  jobs=args.jobs, threads=args.threads, smoke=args.smoke,
                  memory_runs=args.memory_runs)
    os.makedirs(ctx.work, exist_ok=True)
    os.makedirs(ctx.images, exist_ok=True)
    os.chdir(ROOT)
    # every run this starts, the accuracy runs included, inherits it
    os.environ['OMP_NUM_THREADS'] = str(ctx.threads)
    for name, (run, _) in SECTIONS.items():
        if name not in args.only:
            continue
        t0 = time.time()
        run(ctx)
        # a partial memory run is timed under its own name
        key = (f'{name} ({", ".join(args.memory_runs)})'
               if name == 'memory' and args.memory_runs else name)
        # read again: another run_benchmarks may have saved meanwhile
        timings = load(ctx, 'timings') or {}
        timings[key] = dict(seconds=time.time() - t0,
                            date=time.strftime('%Y-%m-%d %H:%M'),
                            threads=str(ctx.threads), smoke=ctx.smoke)
        save(ctx, 'timings', timings)
    print(f'wrote {write_page(ctx, RENDERERS)}')


if __name__ == '__main__':
    main()
