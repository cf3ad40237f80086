"""Which grid cells are re-encoded with gradients in each inner iteration."""
from typing import List, Optional, Sequence

import numpy as np
import torch
from torch import Tensor

SAMPLING_MODES = ('disjoint', 'random')


def image_generator(seed: int, step: int, image: int) -> torch.Generator:
    """A CPU generator for one image of one training step.

    It is derived from (seed, step, global image index) instead of carried
    along, so a resumed run draws exactly the cells the uninterrupted run
    would have drawn, each image of a batch draws independently, and a
    distributed run (image index = rank * local batch + i) samples the same
    cells as one process with the same global batch.
    """
    state = np.random.SeedSequence([int(seed) & 0xFFFFFFFF, step, image])
    gen = torch.Generator()
    gen.manual_seed(int(state.generate_state(1, dtype=np.uint64)[0] >> 1))
    return gen


class PatchSampler:
    """Draws the cells of each inner iteration of one training step.

    Args:
        mode (str): ``'disjoint'``: each image's cells are shuffled once per
            step and iteration ``j`` takes the ``j``-th chunk of ``k``, so a
            cell is updated at most once per step, and every cell is when
            ``k * inner_iters >= m * n``. ``'random'``: an independent draw
            of ``k`` distinct cells per iteration.
        seed (int, optional): base seed of the draws; None takes torch's
            initial seed at the first step (the runner seeds torch before
            training, and a resumed run gets the same seed back from the
            checkpoint's meta).
    """

    def __init__(self, mode: str = 'disjoint',
                 seed: Optional[int] = None) -> None:
        if mode not in SAMPLING_MODES:
            raise ValueError(f'sampling must be one of {SAMPLING_MODES}, '
                             f'got {mode!r}')
        self.mode = mode
        self.seed = seed

    def generators(self, step: int, first: int,
                   batch_size: int) -> List[torch.Generator]:
        """One generator per image of training step ``step``: images
        ``first .. first + batch_size - 1`` of the global batch."""
        if self.seed is None:
            self.seed = torch.initial_seed()
        return [
            image_generator(self.seed, step, first + i)
            for i in range(batch_size)
        ]

    def select(self, num_cells: int, k: int, inner_iters: int,
               generators: Sequence[torch.Generator]) -> List[Tensor]:
        """Return ``inner_iters`` cell selections, each a ``(B, k_j)`` long
        tensor.

        Args:
            num_cells (int): ``m * n``.
            k (int): cells per image and iteration.
            inner_iters (int): ``I``, iterations of the step.
            generators (list[torch.Generator]): one per image (B of them).

        With ``'disjoint'``, the last selections may hold fewer than ``k``
        cells (or none) once every cell has been used.
        """
        if not 1 <= k <= num_cells:
            raise ValueError(f'k={k} patches per iteration does not fit a '
                             f'grid of {num_cells} cells')
        if self.mode == 'random':
            return [
                torch.stack([
                    torch.randperm(num_cells, generator=g)[:k]
                    for g in generators
                ]) for _ in range(inner_iters)
            ]
        order = torch.stack(
            [torch.randperm(num_cells, generator=g) for g in generators])
        return [
            order[:, j * k:(j + 1) * k] for j in range(inner_iters)
        ]


def coverage(selections: Sequence[Tensor], num_cells: int) -> Tensor:
    """``(B, num_cells)`` count of how often each cell is in
    ``selections``."""
    B = selections[0].shape[0]
    counts = torch.zeros(B, num_cells, dtype=torch.long)
    for p in selections:
        counts.scatter_add_(1, p.cpu(), torch.ones_like(p.cpu()))
    return counts
