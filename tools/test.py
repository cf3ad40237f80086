"""Test (evaluate) an mmpatch model from an mmdet, mmseg or mmpretrain config.

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--out FILE]
        [--show] [--show-dir DIR] [--wait-time S] [--tta]
        [--cfg-options k=v ...] [--launcher none|pytorch|slurm|mpi]

mmdet 3.3's ``tools/test.py``, for the three host libraries. The
library-specific options do what that library's own ``tools/test.py`` does,
chosen by the config's ``default_scope``:

- ``--show``/``--show-dir`` turn on ``default_hooks.visualization``
  (``DetVisualizationHook`` ``test_out_dir`` / ``SegVisualizationHook`` with
  the visualizer's ``save_dir`` / mmpretrain's ``VisualizationHook``
  ``out_dir``);
- ``--out``: mmdet dumps predictions to a .pkl (``DumpDetResults``),
  mmpretrain too (mmengine's ``DumpResults``), mmseg writes the predicted
  masks into the directory ``--out`` (``output_dir`` of its metric).

The checkpoint is loaded weights-only
(``mmpatch.utils.enable_safe_checkpoint_loading``).
"""
from mmengine.config import Config

import mmpatch.utils
from mmpatch.utils.cli import (build_runner, host_scope, merge_test_args,
                               parse_args, setup_out_runner, test_parser)


def main(argv=None):
    args = parse_args(test_parser(), argv)
    cfg = Config.fromfile(args.config)
    cfg = merge_test_args(cfg, args)
    mmpatch.utils.enable_safe_checkpoint_loading()
    runner = build_runner(cfg)
    setup_out_runner(runner, args.out, host_scope(cfg))
    return runner.test()


if __name__ == '__main__':
    main()
