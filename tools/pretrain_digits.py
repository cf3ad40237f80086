"""Pretrain a classification backbone on UltraDigits digit crops, locally.

    python tools/pretrain_digits.py [--out checkpoints/resnet18n_digits.pth]
        [--steps 1500] [--batch-size 64] [--crop 64] [--seed 0]

PatchGD's paper starts θ1 from ImageNet weights. Nothing can be downloaded
here, so this tool makes the equivalent for UltraDigits: it trains the
narrow ResNet-18 of ``configs/cls/resnet_patchgd_ultradigits.py`` (+ global
average pooling + a linear layer) to name the digit (0..9) in crops of
UltraDigits background with one digit of a random size (6..56 px), drawn
from the *train* share of the digit bank only, so no test digit is seen.
It saves an mmengine checkpoint whose ``state_dict`` keys start with
``backbone.``, which every UltraDigits classification config (ours and the
baselines alike) loads with
``init_cfg=dict(type='Pretrained', checkpoint=..., prefix='backbone')``.
About 4 minutes on one CPU thread with the defaults.
"""
import argparse
import os
import os.path as osp
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from mmpatch.datasets.digit_canvas import (blend_ink, finish_canvas,
                                           load_digit_bank, make_background,
                                           render_digit)

#: the backbone of configs/cls/resnet_patchgd_ultradigits.py and its baselines
BACKBONE = dict(type='ResNet', depth=18, stem_channels=16, base_channels=16,
                num_stages=4, out_indices=(3, ), style='pytorch',
                norm_cfg=dict(type='BN', requires_grad=True))
MEAN = np.array([123.675, 116.28, 103.53], np.float32)
STD = np.array([58.395, 57.12, 57.375], np.float32)


def make_crop(rng: np.random.Generator, bank: dict, crop: int,
              sizes=(6, 56)):
    """One ``(crop, crop, 3)`` float32 RGB crop with one digit, and its
    value: the canvases' background, ink, noise and colour gain."""
    value = int(rng.integers(10))
    gray = make_background(rng, (crop, crop))
    s = int(round(np.exp(rng.uniform(np.log(sizes[0]), np.log(sizes[1])))))
    s = min(s, crop)
    x, y = (int(v) for v in rng.integers(0, crop - s + 1, 2))
    samples = bank[value]
    alpha, _ = render_digit(samples[int(rng.integers(len(samples)))], s)
    blend_ink(gray, alpha, x, y, rng.uniform(185.0, 250.0))
    return finish_canvas(rng, gray).astype(np.float32), value


def make_batch(rng, bank, batch_size: int, crop: int):
    """``(N, 3, crop, crop)`` normalised images and ``(N,)`` labels."""
    imgs, labels = zip(*(make_crop(rng, bank, crop)
                         for _ in range(batch_size)))
    x = (np.stack(imgs) - MEAN) / STD
    return (torch.from_numpy(x).permute(0, 3, 1, 2).contiguous(),
            torch.tensor(labels))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--out', default='checkpoints/resnet18n_digits.pth')
    parser.add_argument('--steps', type=int, default=1500)
    parser.add_argument('--batch-size', type=int, default=64)
    parser.add_argument('--crop', type=int, default=64)
    parser.add_argument('--lr', type=float, default=2e-3)
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args(argv)
    if args.steps < 1 or args.batch_size < 1 or args.crop < 16:
        parser.error('--steps and --batch-size must be >= 1 and --crop '
                     f'>= 16, got {args.steps}, {args.batch_size}, '
                     f'{args.crop}')

    import mmpretrain.models  # noqa: F401  (registers ResNet)
    from mmpretrain.registry import MODELS
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    bank = load_digit_bank('train')
    backbone = MODELS.build(BACKBONE)
    backbone.init_weights()
    backbone.eval()  # the output width, from a probe that updates nothing
    with torch.no_grad():
        width = backbone(torch.zeros(1, 3, args.crop, args.crop))[-1].shape[1]
    backbone.train()
    fc = nn.Linear(width, 10)

    def logits(x: torch.Tensor) -> torch.Tensor:
        """``(N, 3, h, w)`` -> ``(N, 10)``: backbone, mean pool, linear."""
        return fc(backbone(x)[-1].mean(dim=(2, 3)))

    params = list(backbone.parameters()) + list(fc.parameters())
    optim = torch.optim.Adam(params, lr=args.lr)
    sched = torch.optim.lr_scheduler.OneCycleLR(
        optim, max_lr=args.lr, total_steps=args.steps, pct_start=0.1)
    t0 = time.time()
    correct = seen = 0
    for step in range(1, args.steps + 1):
        x, y = make_batch(rng, bank, args.batch_size, args.crop)
        out = logits(x)
        loss = F.cross_entropy(out, y)
        optim.zero_grad()
        loss.backward()
        optim.step()
        sched.step()
        correct += int((out.argmax(1) == y).sum())
        seen += len(y)
        if step % 100 == 0 or step == args.steps:
            print(f'step {step}/{args.steps}  loss {loss.item():.3f}  '
                  f'train acc (last 100 steps) {100 * correct / seen:.1f} %'
                  f'  {time.time() - t0:.0f} s', flush=True)
            correct = seen = 0

    # held-out check on digits of the test share of the bank
    backbone.eval()
    test_rng = np.random.default_rng(args.seed + 1)
    test_bank = load_digit_bank('test')
    hits = total = 0
    with torch.no_grad():
        for _ in range(8):
            x, y = make_batch(test_rng, test_bank, 64, args.crop)
            hits += int((logits(x).argmax(1) == y).sum())
            total += len(y)
    acc = 100 * hits / total
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    state = {f'backbone.{k}': v for k, v in backbone.state_dict().items()}
    torch.save(dict(state_dict=state,
                    meta=dict(tool='tools/pretrain_digits.py',
                              args=vars(args), backbone=BACKBONE,
                              heldout_acc=acc)), args.out)
    print(f'held-out digit accuracy {acc:.1f} % ({total} crops of test-'
          f'share digits); saved {args.out} ({time.time() - t0:.0f} s)')
    return 0


if __name__ == '__main__':
    sys.exit(main())
