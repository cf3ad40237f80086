r"""Evaluate a checkpoint after recomputing θ1's BatchNorm statistics
(precise BN).

    python tools/analysis_tools/eval_precise_bn.py CONFIG CHECKPOINT \
        --num-batches 32 [--work-dir DIR]

Loads CHECKPOINT into the model of CONFIG, recomputes the running statistics
of θ1's BatchNorm layers from ``--num-batches`` training batches with
``PatchPreciseBNHook`` (``0`` keeps them as saved), then runs the
config's test loop and prints its metrics as one JSON line. This is how the
figures of docs/method.md ("Precise BN before checkpoints and validation")
were measured.
"""
import argparse
import json


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('--num-batches', type=int, default=32)
    parser.add_argument('--work-dir', default='work_dirs/eval_precise_bn')
    args = parser.parse_args(argv)

    from mmengine.config import Config
    from mmengine.runner import Runner

    from mmpatch.engine.hooks import PatchPreciseBNHook
    cfg = Config.fromfile(args.config)
    cfg.work_dir = args.work_dir
    cfg.load_from = None
    runner = Runner.from_cfg(cfg)
    runner.load_checkpoint(args.checkpoint)
    if args.num_batches:
        PatchPreciseBNHook(args.num_batches, interval=1).recalibrate(runner)
    metrics = {k: float(v) for k, v in runner.test().items()}
    print(json.dumps(dict(checkpoint=args.checkpoint,
                          num_batches=args.num_batches, **metrics)))
    return metrics


if __name__ == '__main__':
    main()
