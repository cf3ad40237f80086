"""Ours' full-gradient step beside StreamingCNN (``lightstream``) and the
full image: one classification training step per (backbone, size, method).

    python tools/analysis_tools/streaming_compare.py \
        [--sizes 1024 2048 4096] [--backbones narrow resnet18] \
        [--methods full streaming ours] [--tile 2048] [--threads 1] \
        [--max-size resnet18=2048] [--json out.json]

Every row is one fresh process on one thread: a warm-up step, one step
under mmpatch's memory meter (its peak: live tensor bytes, the measure of
every other memory figure of docs/benchmarks.md, the model's parameters,
gradients and input included) and one more step timed without the meter;
the resident memory the process gained from building the model on (its
peak over the process's life, StreamingCNN's tile statistics included)
is recorded beside it. The backbones are mmpretrain's ResNet-18: ``narrow`` is the UltraDigits
classifier's (16 base channels, configs/cls/resnet_patchgd_ultradigits.py),
``resnet18`` the standard width of torchvision's ResNet-18 (64). BatchNorm
is frozen in every row (StreamingCNN's gradient is exact only so, and ours'
config freezes it: ``full_bn_mode='eval'``).

* ``full``: the backbone, global average pooling and a linear layer on the
  whole image, one forward and one backward;
* ``streaming``: the same network, its backbone streamed by
  ``lightstream.core.scnn.scnn.StreamingCNN`` over ``--tile`` px tiles
  (the exact full-image gradient; its tiles must exceed ~1000 px for
  ResNet-18: 512 and 768 px tiles fail in its backward);
* ``ours``: ``configs/cls/resnet_patchgd_ultradigits_full.py``
  (PatchGD's full-gradient step over 128 px patches, plus a global
  patch; a different model from the two above, not the full-image CNN).
"""
import argparse
import json
import os
import os.path as osp
import sys
import time
from typing import Dict, List

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from membench.runner import run_child  # noqa: E402  (beside this script)

CONFIG = 'configs/cls/resnet_patchgd_ultradigits_full.py'
#: backbone -> mmpretrain ResNet-18 widths (stem, base)
WIDTHS = {'narrow': (16, 16), 'resnet18': (64, 64)}
NUM_CLASSES = 4


def _rss_mb() -> float:
    with open('/proc/self/statm') as f:
        return int(f.read().split()[1]) * os.sysconf('SC_PAGE_SIZE') / 2**20


def _ours(spec: dict):
    """Ours' classifier and its training step on a batch of one image."""
    import torch
    from mmengine.config import Config
    from mmengine.optim import OptimWrapper
    from mmengine.registry import DefaultScope
    from mmpretrain.registry import MODELS
    from mmpretrain.structures import DataSample
    DefaultScope.get_instance('streaming_compare', scope_name='mmpretrain')
    import mmpatch.models.classifier  # noqa: F401  (registers)
    cfg = Config.fromfile(CONFIG)
    stem, base = WIDTHS[spec['backbone']]
    cfg.model.backbone.update(stem_channels=stem, base_channels=base,
                              init_cfg=None)
    model = MODELS.build(cfg.model).train()
    optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=1e-3))
    size = spec['size']
    image = torch.randint(0, 256, (3, size, size), dtype=torch.uint8)
    sample = DataSample(metainfo=dict(img_shape=(size, size),
                                      ori_shape=(size, size)))
    sample.set_gt_label(1)

    def step():
        model.train_step(dict(inputs=[image], data_samples=[sample]), optim)

    return model, step


def _plain(spec: dict):
    """The backbone + pooling + linear layer, on the whole image or
    streamed. BatchNorm is frozen whole, statistics and affine parameters:
    StreamingCNN corrects the gradients of convolutions only (trainable
    affine parameters got gradients ~4x off)."""
    import torch
    from mmpretrain.models import ResNet
    stem, base = WIDTHS[spec['backbone']]
    backbone = ResNet(depth=18, stem_channels=stem, base_channels=base,
                      norm_eval=True)
    backbone.train()  # norm_eval: BatchNorm stays in eval mode
    for m in backbone.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.requires_grad_(False)
    head = torch.nn.Linear(base * 8, NUM_CLASSES)
    size = spec['size']
    image = torch.randn(1, 3, size, size)
    label = torch.tensor([1])
    stream_module = torch.nn.Sequential(backbone.conv1, backbone.norm1,
                                        backbone.relu, backbone.maxpool,
                                        *[getattr(backbone, f'layer{i}')
                                          for i in range(1, 5)])
    streamer = None
    if spec['method'] == 'streaming':
        from lightstream.core.scnn.scnn import StreamingCNN
        tile = min(spec['tile'], size)
        streamer = StreamingCNN(stream_module, tile_shape=(1, 3, tile, tile),
                                copy_to_gpu=False)
        # it swaps every convolution for a StreamingConv2d of its own
        stream_module = streamer.stream_module
    model = torch.nn.ModuleDict(dict(stream=stream_module, head=head))
    optim = torch.optim.SGD(
        [p for p in model.parameters() if p.requires_grad], lr=1e-3)

    def loss_of(feats):
        logits = head(feats.mean((2, 3)))
        return torch.nn.functional.cross_entropy(logits, label)

    def step():
        optim.zero_grad()
        if streamer is None:
            loss_of(stream_module(image)).backward()
        else:
            feats = streamer.forward(image).detach().requires_grad_()
            loss_of(feats).backward()
            streamer.backward(image, feats.grad)
        optim.step()

    return model, step


def one(spec: dict) -> None:
    """Measure one row (a subprocess); write the result to spec['out']."""
    import torch
    torch.set_num_threads(spec['threads'])
    torch.manual_seed(0)
    from mmpatch.memory import MemoryMeter
    from membench.runner import write_json
    res = dict(spec, stage='setup')  # the stage tells where an oom hit
    write_json(spec['out'], res)
    import mmpatch.models.classifier  # noqa: F401  (imported before start)
    import mmpretrain.models  # noqa: F401
    if spec['method'] == 'streaming':
        import lightstream.core.scnn.scnn  # noqa: F401
    start = _rss_mb()  # libraries imported; model, input and steps to come
    model, step = (_ours if spec['method'] == 'ours' else _plain)(spec)
    res['stage'] = 'train'
    write_json(spec['out'], res)
    t0 = time.perf_counter()
    step()  # warm-up (and StreamingCNN's statistics)
    res['warmup_s'] = round(time.perf_counter() - t0, 2)
    with MemoryMeter('cpu', track=[model]) as meter:
        step()
    res['peak_train_mb'] = round(meter.peak_bytes / 2**20, 1)
    t0 = time.perf_counter()
    step()
    res['step_s'] = round(time.perf_counter() - t0, 2)
    import resource
    res['rss_gain_mb'] = round(
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - start, 1)
    res.update(status='ok', stage='done')
    write_json(spec['out'], res)


def rows(args) -> List[Dict]:
    """Every (backbone, size, method) measured in its own process."""
    out = []
    largest = max_sizes(args.max_size)
    for backbone in args.backbones:
        for size in args.sizes:
            for method in args.methods:
                spec = dict(backbone=backbone, size=size, method=method,
                            tile=args.tile, threads=args.threads)
                if size > largest.get(backbone, size):
                    out.append(dict(spec, status='skipped', detail=(
                        f'--max-size {backbone}={largest[backbone]}')))
                    continue
                res = run_child(spec, int(args.memory_limit), 'cpu',
                                args.timeout, cli=osp.abspath(__file__))
                rec = dict(spec, **{k: res.get(k) for k in (
                    'status', 'detail', 'peak_train_mb', 'rss_gain_mb',
                    'step_s', 'warmup_s')})
                print(json.dumps(rec), flush=True)
                out.append(rec)
    return out


def max_sizes(items: List[str]) -> Dict[str, int]:
    """``['resnet18=2048']`` -> ``{'resnet18': 2048}``."""
    out = {}
    for item in items:
        name, _, size = item.partition('=')
        if name not in WIDTHS or not size.isdigit():
            raise SystemExit(f'--max-size {item}: expected BACKBONE=SIZE '
                             f'with BACKBONE in {list(WIDTHS)}')
        out[name] = int(size)
    return out


def table(records: List[Dict]) -> str:
    lines = ['| backbone | size | method | peak train (MiB, meter) | resident '
             'gain (MiB) | step (s) | status |',
             '| --- | --- | --- | --- | --- | --- | --- |']
    for r in records:
        what = (f'streaming ({r["tile"]} px tiles)'
                if r['method'] == 'streaming' else r['method'])
        lines.append(
            f'| {r["backbone"]} | {r["size"]}² | {what} | '
            f'{r.get("peak_train_mb") or "—"} | '
            f'{r.get("rss_gain_mb") or "—"} | {r.get("step_s") or "—"} | '
            f'{r["status"]} |')
    return '\n'.join(lines)


def main(argv=None) -> List[Dict]:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == '--one':
        one(json.loads(argv[1]))
        return []
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--sizes', type=int, nargs='+',
                   default=[1024, 2048, 4096])
    p.add_argument('--backbones', nargs='+', default=list(WIDTHS),
                   choices=list(WIDTHS))
    p.add_argument('--methods', nargs='+',
                   default=['full', 'streaming', 'ours'],
                   choices=['full', 'streaming', 'ours'])
    p.add_argument('--tile', type=int, default=2048,
                   help='StreamingCNN tile side (at most the image side)')
    p.add_argument('--threads', type=int, default=1)
    p.add_argument('--memory-limit', type=float, default=20 * 2**30,
                   help='bytes of address space per row')
    p.add_argument('--timeout', type=float, default=1800)
    p.add_argument('--max-size', nargs='+', default=[],
                   metavar='BACKBONE=SIZE',
                   help='leave out the rows of BACKBONE above SIZE (kept '
                   "as 'skipped')")
    p.add_argument('--json')
    args = p.parse_args(argv)
    records = rows(args)
    print(table(records))
    if args.json:
        os.makedirs(osp.dirname(osp.abspath(args.json)), exist_ok=True)
        with open(args.json, 'w') as f:
            json.dump(dict(command='python tools/analysis_tools/'
                           'streaming_compare.py ' + ' '.join(argv),
                           records=records), f, indent=1)
    return records


if __name__ == '__main__':
    main()
