"""`make demo`: ours against the equal-memory baselines, on a short schedule.

    python tools/demo.py [--work-dir work_dirs/demo] [--epochs 3]
                         [--train-images 48] [--test-images 16] [--jobs 2]

On UltraDigits-scales (1024 px canvases, `make data-scales`), from the
locally pretrained backbone (`make pretrained`), it trains

* ours: PatchGD + global patch with the full-image gradient
  (configs/det/ultradigits_scales/fcos_patchgd_full_scales.py),
* stock FCOS on canvases downsampled to 512 px, and
* stock FCOS on random 512 px crops, scored by sliced inference,

the two stock sides being the largest whose measured peak training memory
fits ours' (configs' headers), for the same few epochs on the first
``--train-images`` training canvases, two runs at a time on one thread
each. It then prints AP, AP50 and AP by size bucket on the first
``--test-images`` test canvases, with each run's measured peak training
memory, training time and inference time per canvas, and draws one test
canvas's predictions (WORK_DIR/results/predictions.png). It is
tools/analysis_tools/det_comparison.py on a shortened schedule; the full
comparison (up to 12 epochs on all 96 training canvases, until validation
AP stops improving, three seeds, all 64 test canvases, the full-image FCOS
as the upper bound, ours with the sampled step and without the global
patch, the ablations, the time-to-accuracy picture) is in
docs/benchmarks.md. The schedule's warm-up spans the first 3 epochs, so at
this length the detectors train below their full learning rate.
"""
import argparse
import os.path as osp
import subprocess
import sys
import time
from typing import List

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
COMPARISON = osp.join(ROOT, 'tools', 'analysis_tools', 'det_comparison.py')

FULL = ('python tools/analysis_tools/det_comparison.py --work-dir '
        'work_dirs/benchmarks/det --results docs/results/det_comparison '
        '--seeds 0 1 2 --epochs 12')


def run_comparison(argv: List[str]) -> None:
    """tools/analysis_tools/det_comparison.py run as a script, as a user
    runs it: its folder is on ``sys.path`` for the modules beside it."""
    subprocess.run([sys.executable, COMPARISON, *argv], check=True, cwd=ROOT)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--work-dir', default='work_dirs/demo')
    p.add_argument('--data-root', default='data/ultradigits_scales/')
    p.add_argument('--epochs', type=int, default=3)
    p.add_argument('--train-images', type=int, default=48)
    p.add_argument('--test-images', type=int, default=16)
    p.add_argument('--jobs', type=int, default=2)
    args = p.parse_args(argv)
    needs = ((osp.join(args.data_root, 'annotations', 'instances_test.json'),
              'make data-scales'),
             ('checkpoints/resnet18n_digits.pth', 'make pretrained'))
    for need, make in needs:
        if not osp.exists(osp.join(ROOT, need)):
            sys.exit(f'{need} is missing: run `{make}` first (or `make demo`)')
    t0 = time.time()
    run_comparison([
        '--work-dir', args.work_dir, '--data-root', args.data_root,
        '--seeds', '0', '--epochs', str(args.epochs), '--methods',
        'ours_full', 'downsampled', 'crop',
        '--train-images', str(args.train_images),
        '--max-test', str(args.test_images), '--curve-every', '0',
        '--timing-images', '2', '--jobs', str(args.jobs)])
    print(f'SHORTENED SCHEDULE: {args.epochs} epochs on '
          f'{args.train_images} training canvases, one seed, scored on '
          f'{args.test_images} test canvases ({time.time() - t0:.0f} s). '
          'These few minutes of CPU training are a demonstration, not the '
          'comparison: the full one (up to 12 epochs on all 96 training '
          'canvases, until validation AP stops improving, three seeds, all '
          '64 test canvases, the full-image upper bound, ours with the '
          'sampled step and without the global patch, the ablations, the '
          'time-to-accuracy picture) is '
          f'made for docs/benchmarks.md by\n  {FULL}')
    print('peak train MiB: measured live tensor bytes of the training step '
          '(MemoryLoggerHook); the stock sides (512 px) are the largest '
          "whose tools/analysis_tools/benchmark_memory.py peak fits ours' (configs' "
          'headers).')
    print(f'predictions on one test canvas: '
          f'{osp.join(args.work_dir, "results", "predictions.png")}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
