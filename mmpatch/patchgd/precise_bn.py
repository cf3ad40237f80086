"""Precise BN for PatchGD: θ1's running statistics recomputed from the
training data with the current weights (docs/method.md, "Precise BN")."""
from typing import Any, Iterable, List

import torch

from .contract import PatchAdapter
from .grid import CellIndex, PatchGrid
from .layout import lay_out_data
from .norm import batch_norms


def recalibrate_norm_stats(model: PatchAdapter,
                           batches: Iterable[Any]) -> int:
    """Recompute θ1's BatchNorm running statistics with the current weights
    from ``batches``; returns the number of layers updated.

    Training moves the running statistics at every train-mode forward: a
    sampled PatchGD step makes 2I of them (I batches of k sampled patches, I
    global patches), a full-gradient step one per fill chunk and one for
    the global patch, each from a fraction of an image, so with the usual
    momentum of 0.1 the statistics follow the last image or two, and
    evaluation can swing from one checkpoint to the next. Here each batch
    (as the dataloader collates it) is preprocessed and θ1 runs, without
    gradients and in the training proportions, on every cell: in groups of
    k per image, each group followed by the global patch (``'sampled'``),
    or in the fill's chunks followed by one global patch (``'full'``); the
    running statistics become the plain average over all these forwards
    (PyTorch's ``momentum=None``). θ2's layers and the modules' train/eval
    modes are left as they are.

    Args:
        model (PatchAdapter): the model, unwrapped.
        batches (Iterable): batches as the training dataloader yields them.
    """
    layers = [m for m in batch_norms(model.patch_encoder_modules())
              if m.track_running_stats]
    if not layers:
        return 0
    saved = [(m.momentum, m.training) for m in layers]
    for m in layers:
        m.reset_running_stats()
        m.momentum = None
        m.train()
    try:
        with torch.no_grad():
            for data in batches:
                batch = lay_out_data(model, data)
                grid, image = batch.grid, batch.image
                full = model.patch_cfg.full_gradient
                for part in _training_groups(model, grid,
                                             batch.pixels.device):
                    model.encode_patches(grid.gather(batch.pixels, part))
                    if not full and image is not None:
                        model.encode_global(image)
                if full and image is not None:
                    model.encode_global(image)
    finally:
        for m, (momentum, training) in zip(layers, saved):
            m.momentum = momentum
            m.train(training)
    return len(layers)


def _training_groups(model: PatchAdapter, grid: PatchGrid,
                     device) -> List[CellIndex]:
    """The groups of cells θ1 sees in one forward during training."""
    cfg, plan = model.patch_cfg, model.step_plan
    cells = grid.all_cells(device)
    if cfg.full_gradient:
        return grid.index(cells).chunks(plan.fill_chunk_for(cfg))
    k = plan.patches_for(cfg, grid.num_cells, grid.batch_shape)
    return [
        grid.index(cells[:, start:start + k])
        for start in range(0, grid.num_cells, k)
    ]
