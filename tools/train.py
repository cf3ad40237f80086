"""Train an mmpatch model from an mmdet, mmseg or mmpretrain config.

    python tools/train.py CONFIG [--work-dir DIR] [--amp] [--resume [CKPT]]
        [--cfg-options k=v ...] [--launcher none|pytorch|slurm|mpi]

mmdet 3.3's ``tools/train.py``, for the three host libraries: the config's
``default_scope`` and ``custom_imports`` say which library's modules to use.
``--resume`` alone resumes from the latest checkpoint in the work dir,
``--resume CKPT`` from that file. Checkpoints are loaded weights-only
(``mmpatch.utils.enable_safe_checkpoint_loading``).
"""
from mmengine.config import Config

import mmpatch.utils
from mmpatch.utils.cli import (build_runner, merge_train_args, parse_args,
                               train_parser)


def main(argv=None):
    args = parse_args(train_parser(), argv)
    cfg = Config.fromfile(args.config)
    cfg = merge_train_args(cfg, args)
    mmpatch.utils.enable_safe_checkpoint_loading()
    runner = build_runner(cfg)
    runner.train()


if __name__ == '__main__':
    main()
