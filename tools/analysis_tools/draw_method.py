r"""Draw docs/images/method.png: the patch grid, Z, the global patch, θ1/θ2.

    python tools/analysis_tools/draw_method.py \
        [--image data/ultradigits/images/train/000001.png] \
        [--out docs/images/method.png]

The picture uses a real UltraDigits canvas when one exists (``make data``),
else a plain grey canvas.
"""
import argparse
import os
import os.path as osp

import matplotlib

matplotlib.use('Agg')
import matplotlib.patches as mpatches  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def _load(path: str, size: int = 512) -> np.ndarray:
    import cv2
    if path and osp.exists(path):
        img = cv2.imread(path, cv2.IMREAD_COLOR)[..., ::-1]
        return cv2.resize(img, (size, size), interpolation=cv2.INTER_AREA)
    return np.full((size, size, 3), 90, dtype=np.uint8)


def _box(ax, xy, w, h, text, color, fontsize=9):
    ax.add_patch(mpatches.FancyBboxPatch(
        xy, w, h, boxstyle='round,pad=0.02', fc=color, ec='black', lw=1))
    ax.text(xy[0] + w / 2, xy[1] + h / 2, text, ha='center', va='center',
            fontsize=fontsize, wrap=True)


def _arrow(ax, start, end, text='', color='black', style='-|>'):
    ax.annotate('', xy=end, xytext=start,
                arrowprops=dict(arrowstyle=style, color=color, lw=1.4))
    if text:
        ax.text((start[0] + end[0]) / 2, (start[1] + end[1]) / 2 + 0.12,
                text, ha='center', va='bottom', fontsize=8, color=color)


def draw(image: np.ndarray, out: str, grid: int = 4) -> None:
    fig, ax = plt.subplots(figsize=(13, 6.2))
    ax.set_xlim(0, 13)
    ax.set_ylim(0, 6.2)
    ax.axis('off')

    # the image and its patch grid
    ax.imshow(image, extent=(0.2, 3.4, 1.5, 4.7))
    step = 3.2 / grid
    for i in range(grid + 1):
        ax.plot([0.2 + i * step] * 2, [1.5, 4.7], color='white', lw=0.8)
        ax.plot([0.2, 3.4], [1.5 + i * step] * 2, color='white', lw=0.8)
    sampled = [(0, 1), (2, 3), (3, 0), (1, 2)]
    for r, c in sampled:
        ax.add_patch(mpatches.Rectangle(
            (0.2 + c * step, 4.7 - (r + 1) * step), step, step, fill=False,
            ec='#e8453c', lw=2.2))
    ax.text(1.8, 4.95, 'image X (M x N), m x n grid of p x p patches',
            ha='center', fontsize=9)
    ax.text(1.8, 1.2, 'red: k patches sampled in this inner iteration',
            ha='center', fontsize=8, color='#e8453c')

    # theta1 on patches -> Z
    _box(ax, (4.0, 3.55), 1.6, 0.8, 'θ1\npatch encoder', '#cfe2f3')
    _arrow(ax, (3.45, 3.95), (3.95, 3.95))
    ax.text(4.8, 4.55, 'fill: all patches, no grad\n(in chunks of fill_chunk)',
            ha='center', fontsize=7.5)
    ax.text(4.8, 3.3, 'k patches with grad', ha='center', fontsize=7.5,
            color='#e8453c')

    # Z
    zx, zy, zs = 6.2, 3.0, 1.6
    zstep = zs / grid
    for r in range(grid):
        for c in range(grid):
            hot = (r, c) in sampled
            ax.add_patch(mpatches.Rectangle(
                (zx + c * zstep, zy + zs - (r + 1) * zstep), zstep, zstep,
                fc='#f4cccc' if hot else '#d9ead3', ec='gray', lw=0.6))
    ax.text(zx + zs / 2, zy + zs + 0.15,
            'latent buffer Z\n(stitched patch features)', ha='center',
            fontsize=8.5)
    _arrow(ax, (5.65, 3.95), (6.15, 3.8), 'scatter')

    # global patch
    small = image[::8, ::8]
    ax.imshow(small, extent=(4.2, 5.4, 0.4, 1.6))
    ax.text(4.8, 0.15, 'global patch\n(whole image resized to p)',
            ha='center', va='top', fontsize=8)
    _box(ax, (6.2, 0.6), 1.6, 0.8, 'θ1 → G\n(resized to Z)', '#cfe2f3')
    _arrow(ax, (5.45, 1.0), (6.15, 1.0))
    _arrow(ax, (3.45, 2.0), (4.15, 1.2), 'resize')

    # fusion, theta2, head, loss
    _box(ax, (8.4, 2.2), 1.3, 0.9, 'fuse\nconcat / add', '#fff2cc')
    _arrow(ax, (7.85, 3.6), (8.4, 2.9))
    _arrow(ax, (7.85, 1.0), (8.4, 2.4))
    _box(ax, (10.1, 2.2), 1.4, 0.9, 'θ2 + the\nlibrary\'s head', '#d9d2e9')
    _arrow(ax, (9.75, 2.65), (10.05, 2.65))
    _box(ax, (11.8, 2.25), 1.05, 0.8, 'loss /\npredict', '#ead1dc')
    _arrow(ax, (11.55, 2.65), (11.75, 2.65))
    ax.text(10.8, 1.7, 'FCOS head · mmseg decode-head loss ·\n'
            'grid CNN + LinearClsHead', ha='center', fontsize=7.5)
    # the gradient path: over the top, back to θ1's k patches
    ax.annotate('', xy=(4.8, 4.4), xytext=(12.33, 3.1),
                arrowprops=dict(arrowstyle='-|>', color='#e8453c', lw=1.4,
                                connectionstyle='arc3,rad=0.35'))
    ax.text(8.6, 5.75, 'backward: reaches θ2, G and the k sampled patches '
            'only; accumulated over inner iterations, then one optimizer '
            'step', ha='center', fontsize=8, color='#e8453c')
    fig.tight_layout()
    os.makedirs(osp.dirname(out) or '.', exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        '--image', default='data/ultradigits/images/train/000001.png')
    parser.add_argument('--out', default='docs/images/method.png')
    args = parser.parse_args()
    draw(_load(args.image), args.out)
    print(f'wrote {args.out}')


if __name__ == '__main__':
    main()
