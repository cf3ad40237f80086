"""Precise BN for PatchGD: θ1's running statistics recomputed from the
training data with the current weights (docs/method.md, "Precise BN")."""
from typing import TYPE_CHECKING, Any, Iterable

import torch

from .norm import batch_norms

if TYPE_CHECKING:
    from .mixin import PatchGDMixin


def recalibrate_norm_stats(model: 'PatchGDMixin',
                           batches: Iterable[Any]) -> int:
    """Recompute θ1's BatchNorm running statistics with the current weights
    from ``batches``; returns the number of layers updated.

    Training moves the running statistics at every train-mode forward: a
    PatchGD step makes 2I of them (I batches of k sampled patches, I global
    patches), each from a fraction of an image, so with the usual momentum
    of 0.1 the statistics follow the last image or two, and evaluation can
    swing from one checkpoint to the next. Here each batch (as the
    dataloader collates it) is preprocessed and θ1 runs, without gradients
    and in the training proportions, on every cell in groups of k per
    image, each group followed by the global patch; the running statistics
    become the plain average over all these forwards (PyTorch's
    ``momentum=None``). θ2's layers and the modules' train/eval modes are
    left as they are.

    Args:
        model (PatchGDMixin): the model, unwrapped.
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
                data = model.data_preprocessor(data, True)
                inputs = data['inputs']
                grid = model.make_grid(inputs, data['data_samples'])
                x = grid.pad(inputs)
                image = model.global_image(inputs, grid)
                k = model.step_plan.patches_for(model.patch_cfg,
                                                grid.num_cells,
                                                grid.batch_shape)
                cells = grid.all_cells(x.device)
                for start in range(0, grid.num_cells, k):
                    model.encode_patches(
                        grid.gather(x, grid.index(cells[:, start:start + k])))
                    if image is not None:
                        model.encode_global(image)
    finally:
        for m, (momentum, training) in zip(layers, saved):
            m.momentum = momentum
            m.train(training)
    return len(layers)
