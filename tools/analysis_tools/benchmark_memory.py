r"""Peak memory and time of one training step and one inference, PatchGD
against a baseline, for several image sizes.

    python tools/analysis_tools/benchmark_memory.py CONFIG \
        --sizes 1024 2048 4096
        [--baseline full|downsampled|none] [--baseline-config CONFIG]
        [--json OUT.json] [--plot OUT.png] [--steps N] [--batch-size B]
        [--memory-limit 20G] [--budget 2G] [--timeout S] [--breakdown]
        [--device cpu|cuda] [--threads T] [--seed S] [--log-dir DIR]
        [--image-source memory|mapped] [--cfg-options k=v ...]

``--baseline`` defaults to ``full`` when ``--baseline-config`` is given,
else to ``none`` (ours only). For timings, use ``--steps 3`` (below).

Every (method, size) pair runs in a fresh subprocess (this script in its
hidden ``--one`` mode, ``membench/child.py``), so one run cannot inherit
another's memory and a baseline that does not fit is recorded with
``status: "oom"`` instead of ending the benchmark. In the subprocess:

1. the config is loaded (``--cfg-options`` applied), its ``custom_imports``
   imported and its ``default_scope`` (mmdet, mmseg or mmpretrain) entered;
   pretrained ``init_cfg``s that name a URL or a missing file are dropped,
   so nothing is downloaded;
2. the model, its ``OptimWrapper`` (``cfg.optim_wrapper``) and a synthetic
   batch of ``--batch-size`` uint8 images of side ``size`` are built: a few
   random boxes (mmdet), a random mask (mmseg) or a label (mmpretrain);
   with ``--image-source mapped``, ours reads its images as
   ``LoadLazyImage`` pipelines give them: each image is written to an
   ``.npy`` file and the batch holds zero-channel stand-ins, so the data
   preprocessor makes a ``MappedBatch`` and the pixels are read patch by
   patch (the baseline always holds its images: it needs them whole);
3. with ``--steps N`` > 1, one warm-up step (it creates the optimizer
   state); then one training step is measured (peak and time); with
   ``N`` > 2, ``N - 2`` more steps are timed without the meter and
   ``step_s`` is their median (``timed_with_meter: false``): the CPU
   meter's per-operator bookkeeping (about 20 us an operator, +50% at
   256 px, little at large sizes) is then out of the time;
4. one inference (``val_step`` in eval mode under ``torch.no_grad``) is
   measured, with ``track=[model, batch]`` (no optimizer state) (and, with
   ``N`` > 2, timed once more without the meter);
5. with ``--breakdown``, one more training step and one more inference are
   run with the peak split by phase (below).

Peaks come from :class:`mmpatch.memory.MemoryMeter` with
``track=[model, optim_wrapper, batch]``: absolute bytes of live tensors
(weights, gradients, optimizer state and the batch included), on CPU counted
by the dispatch tracker, on CUDA by ``torch.cuda.max_memory_allocated``
(docs/memory.md). Process RSS is reported for information only
(``rss_peak_mb``, the subprocess's ``ru_maxrss``, which includes the
interpreter, libraries and allocator caches).

Methods:

* ``ours``: CONFIG as given (a PatchGD model);
* the baseline: ``--baseline-config`` if given, otherwise the same network
  as the host library's stock model, ``HostModel.host_model_cfg`` of the
  config's model class (``FCOS`` / ``SingleStageDetector``,
  ``EncoderDecoder`` or ``ImageClassifier``, the PatchGD-only keys
  removed). ``full`` runs it
  on the whole image; ``downsampled`` on the image resized to the patch
  size of CONFIG (the record keeps the original ``size`` and gives
  ``input_size``).

The memory limit (``--memory-limit``, default 20G) is imposed on CPU with
``RLIMIT_AS`` in the subprocess: it caps the process's *address space*,
which also holds the interpreter and libraries (``vm_setup_mb``: about
4.1 GiB of mostly untouched mappings with torch and mmdet loaded), so the
tensors get about 4 GiB less than the limit. On CUDA the limit is
``torch.cuda.set_per_process_memory_fraction``. A ``MemoryError``, an
allocator error ("can't allocate memory", ``DefaultCPUAllocator``, CUDA
"out of memory", ``std::bad_alloc``) or a subprocess killed by a signal is
``status: "oom"``, with ``min_needed_train_mb`` (live bytes at the failure
plus the bytes asked for: a lower bound of the step's need) when the
allocator said how much it asked for. Any other failure is
``status: "error: <message>"``, printed with the subprocess's log tail.
``--budget`` marks records whose training or inference peak exceeds it
with ``over_budget: true`` (a record with a missing peak, e.g. oom:
``true`` when its lower bound exceeds the budget, else ``null``).

``--breakdown`` splits the peak of a step by phase
(``breakdown.train.peak_mb``: the absolute peak reached while each phase
ran, the largest over its calls; ``breakdown.train.s``: its wall time,
summed over calls, meter overhead included). A PatchGD training step:
``preprocess``, ``fill``, ``sample``, ``patch_encode``, ``scatter``,
``chunk_encode``, ``global``, ``head_loss``, ``backward``,
``chunk_backward``, ``global_backward``, ``optim_step`` and ``other``,
each as ``membench/phases.py`` describes (which of them run depends on
``patch_cfg``: ``gradient='full'`` has no ``sample``, ``patch_encode`` or
``scatter`` but ``chunk_backward``); the stock baseline ``preprocess``,
``forward_loss``, ``backward``, ``optim_step``; inference ``preprocess``,
``fill``, ``global``, ``head_predict`` (stock: ``predict``).

Records (a JSON list, rewritten after every subprocess): ``method``,
``task``, ``size``, ``patch``, ``k``, ``peak_train_mb``, ``peak_infer_mb``,
``step_s``, ``infer_s``, ``status``, ``image_source``, ``latent_mb``,
``memory_method``, ``config``, and ``model``, ``input_size``, ``grid``,
``batch_size``, ``device``, ``fixed_mb`` (weights + gradients + optimizer state + batch at
the start of the measured step), ``fill_s``, ``step_cpu_s`` and
``infer_cpu_s`` (process CPU time, all threads: steadier than wall time on
a busy machine), ``vm_setup_mb`` (the subprocess's address space once the
model, optimizer and batch are built: ``--memory-limit`` less this is what
the step can use), ``timed_with_meter``, ``warmup_s`` and ``warmup_peak_mb``
(the first step: no optimizer state yet, so its peak is lower with SGD
momentum or Adam), ``threads``, ``rss_peak_mb``,
``train_status``, ``infer_status``, ``memory_limit_mb``, ``plan`` (with
``patch_cfg.memory_budget``: the planner's choice, as ``MemoryBudgetHook``
makes it before training), ``gradient`` and ``backward_chunk`` (PatchGD:
the step's mode and chunk), ``breakdown``, ``detail``, ``over_budget``.
MiB are 2**20 bytes.
"""
import argparse
import json
import os
import os.path as osp
import sys
from typing import List

# sibling modules: Python puts this script's folder first on sys.path
from membench.child import run_one
from membench.plot import plot_records
from membench.records import build_specs, fmt, format_table, make_record
from membench.runner import run_child, write_json


def parse_args(argv=None):
    from mmengine.config import DictAction

    from mmpatch.memory import parse_bytes
    parser = argparse.ArgumentParser(
        description='Peak memory and time of one training step and one '
        'inference, PatchGD against a baseline, per image size; each in a '
        'fresh subprocess.')
    parser.add_argument('config', help='a PatchGD config ("ours")')
    parser.add_argument('--sizes', type=int, nargs='+',
                        default=[1024, 2048, 4096],
                        help='image sides in pixels (square images)')
    parser.add_argument(
        '--baseline', choices=['full', 'downsampled', 'none'],
        default=None,
        help='full: the stock model on the whole image; downsampled: on the '
        'image resized to the patch size; none: ours only. Defaults to full '
        'when --baseline-config is given, else none')
    parser.add_argument(
        '--baseline-config',
        help='config of the baseline model (default: CONFIG with the host '
        "library's stock model type and the PatchGD keys removed)")
    parser.add_argument('--json', help='write the records to this file')
    parser.add_argument('--plot', help='write the plot to this .png')
    parser.add_argument(
        '--steps', type=int, default=2,
        help='training steps per run: with N > 1 the first is a warm-up, '
        'the next one is measured (peak and time), and N - 2 more are timed '
        "without the meter (step_s: their median; the CPU meter's "
        'per-operator overhead is then out of the time) (default 2)')
    parser.add_argument('--batch-size', type=int, default=1)
    parser.add_argument(
        '--memory-limit', default='20G',
        help="per subprocess: RLIMIT_AS on CPU (address space, interpreter "
        "and libraries included), the allocator's fraction on CUDA; '0' for "
        'none (default 20G)')
    parser.add_argument(
        '--budget', help="mark records whose peak exceeds it, e.g. '2G'")
    parser.add_argument('--timeout', type=float, default=None,
                        help='seconds per subprocess (default: none)')
    parser.add_argument('--device', default=None,
                        help='cpu or cuda (default: cuda when available)')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument(
        '--image-source', choices=['memory', 'mapped'], default='memory',
        help='how ours holds its images: decoded in memory (as '
        'LoadImageFromFile gives them; the default) or memory-mapped and '
        'read patch by patch (as LoadLazyImage gives them). The baseline '
        'always holds them in memory')
    parser.add_argument(
        '--threads', type=int, default=None,
        help='torch.set_num_threads in each subprocess (default: torch\'s '
        'choice); 1 gives steadier times on a busy machine')
    parser.add_argument('--breakdown', action='store_true',
                        help='also split the peaks by phase (one more '
                        'training step and inference)')
    parser.add_argument('--log-dir',
                        help='keep each subprocess output here')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override settings of CONFIG (and of the '
                        'derived baseline), e.g. '
                        'model.patch_cfg.patches_per_iter=4')
    parser.add_argument('--baseline-cfg-options', nargs='+',
                        action=DictAction,
                        help='override settings of the baseline only, after '
                        '--cfg-options, e.g. model.backbone.with_cp=False '
                        'for the stock network')
    args = parser.parse_args(argv)
    if args.baseline is None:
        args.baseline = 'full' if args.baseline_config else 'none'
    if args.baseline_config and args.baseline == 'none':
        parser.error('--baseline-config needs --baseline full|downsampled')
    if args.steps < 1:
        parser.error('--steps must be >= 1')
    try:
        args.memory_limit = parse_bytes(args.memory_limit) or None
        args.budget = parse_bytes(args.budget) if args.budget else None
    except ValueError as exc:
        parser.error(str(exc))
    if args.device is None:
        import torch
        args.device = 'cuda' if torch.cuda.is_available() else 'cpu'
    for key in ('cfg_options', 'baseline_cfg_options'):
        if getattr(args, key):
            setattr(args, key, {
                k: (v.to_dict() if hasattr(v, 'to_dict') else v)
                for k, v in getattr(args, key).items()
            })
    return args


def main(argv=None) -> List[dict]:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == '--one':
        run_one(json.loads(argv[1]))
        return []
    args = parse_args(argv)
    specs = build_specs(args)
    records: List[dict] = []
    if args.log_dir:
        os.makedirs(args.log_dir, exist_ok=True)
    for spec in specs:
        tag = f'{spec["method"]} @ {spec["size"]}'
        print(f'[benchmark_memory] {tag}: running '
              f'(input {spec["input_size"]} px)...', flush=True)
        log_path = osp.join(args.log_dir, f'{spec["method"]}_{spec["size"]}'
                            '.log') if args.log_dir else None
        out = run_child(spec, args.memory_limit, args.device, args.timeout,
                        log_path)
        rec = make_record(spec, out, args)
        records.append(rec)
        msg = (f'[benchmark_memory] {tag}: {rec["status"]}; train peak '
               f'{fmt(rec["peak_train_mb"])} MiB, infer peak '
               f'{fmt(rec["peak_infer_mb"])} MiB, step '
               f'{fmt(rec["step_s"], 2)} s ({out.get("wall_s")} s in all)')
        print(msg, flush=True)
        if rec['status'] != 'ok':
            print(f'[benchmark_memory] {tag}: {rec.get("detail", "")}',
                  flush=True)
            if rec['status'] != 'oom':
                print('----- subprocess output (tail) -----\n' +
                      out.get('log_tail', '')[-3000:] +
                      '\n------------------------------------', flush=True)
        if args.json:
            os.makedirs(osp.dirname(osp.abspath(args.json)), exist_ok=True)
            write_json(args.json, records)
    print()
    print(format_table(records))
    if args.plot:
        first = records[0] if records else {}
        title = (f'{osp.basename(args.config)}: peak of one training step\n'
                 f'({first.get("memory_method")}, batch {args.batch_size})')
        plot_records(records, args.plot, title, args.memory_limit,
                     args.budget)
        print(f'plot: {args.plot}')
    if args.json:
        print(f'records: {args.json}')
    return records


if __name__ == '__main__':
    main()
