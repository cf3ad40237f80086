"""`make demo`: train PatchGD and the downsampled baseline, compare on test.

    python tools/demo.py [--config CONFIG] [--baseline CONFIG]
                         [--work-dir work_dirs/demo] [--max-iters N]

1. trains ``--config`` (default: the PatchGlobalDetector on UltraDigits) and
   scores it on the whole test canvases;
2. trains ``--baseline`` (stock FCOS on canvases downsampled to the patch
   size) for the same wall-clock time, and scores it the same way;
3. prints COCO AP / AP50 / AP_small and the measured peak training memory of
   each, and writes them to ``WORK_DIR/demo_results.json``.
"""
import argparse
import json
import os.path as osp

from mmpatch.utils.experiment import run_subprocess

KEYS = (('AP', 'coco/bbox_mAP'), ('AP50', 'coco/bbox_mAP_50'),
        ('AP_small', 'coco/bbox_mAP_s'))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--config',
                        default='configs/det/fcos_patchgd_ultradigits.py')
    parser.add_argument(
        '--baseline',
        default='configs/det/baselines/fcos_downsampled_ultradigits.py')
    parser.add_argument('--work-dir', default='work_dirs/demo')
    parser.add_argument('--max-iters', type=int, default=None,
                        help='override the training length of --config')
    args = parser.parse_args()

    options = None
    if args.max_iters:
        options = {'train_cfg.max_iters': args.max_iters,
                   'train_cfg.val_interval': args.max_iters}
    ours = run_subprocess(args.config, osp.join(args.work_dir, 'patchgd'),
                          options)
    # the baseline gets the same wall-clock training time, however many
    # iterations that is
    base = run_subprocess(
        args.baseline, osp.join(args.work_dir, 'baseline'),
        {'train_cfg.max_iters': 100000, 'train_cfg.val_interval': 100000},
        time_limit=ours['train_s'])
    rows = [('PatchGD + global (ours)', ours), ('downsampled FCOS', base)]
    print('\nUltraDigits test split, whole canvases '
          f'(training time {ours["train_s"]:.0f} s each)')
    print(f'{"method":26s} {"AP":>6s} {"AP50":>6s} {"AP_s":>6s} '
          f'{"iters":>6s} {"peak MiB":>9s}')
    for name, r in rows:
        m = r['metrics']
        print(f'{name:26s} ' +
              ' '.join(f'{m.get(key, float("nan")):6.3f}' for _, key in KEYS)
              + f' {r["iters"]:6d} {r["peak_train_mb"]:9.0f}')
    print(f'(peak = measured training-step tensor memory, '
          f'{ours["memory_method"]})')
    with open(osp.join(args.work_dir, 'demo_results.json'), 'w') as f:
        json.dump(dict(ours=ours, baseline=base), f, indent=2)


if __name__ == '__main__':
    main()
