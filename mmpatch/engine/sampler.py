"""Which grid cells are re-encoded with gradients in each inner iteration."""
from typing import List, Optional, Sequence

import numpy as np
import torch
from torch import Tensor

SAMPLING_MODES = ('disjoint', 'random')


def step_generator(seed: int, step: int, rank: int = 0) -> torch.Generator:
    """A CPU generator for one training step, derived from (seed, rank, step).

    Deriving the state instead of carrying one generator along makes a
    resumed run draw exactly the cells the uninterrupted run would have drawn,
    and gives each distributed rank its own stream.
    """
    state = np.random.SeedSequence([int(seed) & 0xFFFFFFFF, rank, step])
    gen = torch.Generator()
    gen.manual_seed(int(state.generate_state(1, dtype=np.uint64)[0] >> 1))
    return gen


class PatchSampler:
    """Draws the cell plan of each inner iteration of one training step.

    Args:
        mode (str): ``'disjoint'``: each image's cells are shuffled once per
            step and iteration ``j`` takes the ``j``-th chunk of ``k``, so a
            cell is updated at most once per step, and every cell is when
            ``k * inner_iters >= m * n``. ``'random'``: an independent draw
            of ``k`` distinct cells per iteration.
        inner_iters (int): ``I``, iterations per step.
    """

    def __init__(self, mode: str = 'disjoint', inner_iters: int = 4) -> None:
        if mode not in SAMPLING_MODES:
            raise ValueError(f'sampling must be one of {SAMPLING_MODES}, '
                             f'got {mode!r}')
        self.mode = mode
        self.inner_iters = inner_iters

    def plan(self,
             batch_size: int,
             num_cells: int,
             k: int,
             generator: Optional[torch.Generator] = None) -> List[Tensor]:
        """Return ``inner_iters`` plans, each ``(B, k_j)`` long tensors.

        With ``'disjoint'``, the last plans may hold fewer than ``k`` cells
        (or none) once every cell has been used.
        """
        if not 1 <= k <= num_cells:
            raise ValueError(f'k={k} patches per iteration does not fit a '
                             f'grid of {num_cells} cells')
        if self.mode == 'random':
            plans = []
            for _ in range(self.inner_iters):
                rows = [
                    torch.randperm(num_cells, generator=generator)[:k]
                    for _ in range(batch_size)
                ]
                plans.append(torch.stack(rows))
            return plans
        order = torch.stack([
            torch.randperm(num_cells, generator=generator)
            for _ in range(batch_size)
        ])
        return [
            order[:, j * k:(j + 1) * k] for j in range(self.inner_iters)
        ]


def coverage(plans: Sequence[Tensor], num_cells: int) -> Tensor:
    """``(B, num_cells)`` count of how often each cell is in ``plans``."""
    B = plans[0].shape[0]
    counts = torch.zeros(B, num_cells, dtype=torch.long)
    for p in plans:
        counts.scatter_add_(1, p.cpu(), torch.ones_like(p.cpu()))
    return counts
