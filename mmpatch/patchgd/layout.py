"""A batch laid out for PatchGD once, and the engine's encoding pieces.

Everything that turns a preprocessed batch into what θ2 reads is here, for
every caller (the training step, the reference ``loss``, inference, precise
BN and the memory planner)::

    lay_out        the grid over a preprocessed batch (make_grid), the
                   padded pixels and the global patch: a :class:`Batch`
    lay_out_data   the same from a batch as the dataloader yields it
    patch_encoder  θ1 on patches with gradients (checkpointed with
                   ``with_cp``)
    global_features  θ1 on the global patch (checkpointed with ``with_cp``)
    uncheckpointed_host  θ1's host modules without their own ``with_cp``
    encode_batch   Z and G of a batch, for inference
"""
from contextlib import contextmanager, nullcontext
from functools import partial
from typing import (Any, Callable, ContextManager, Iterable, Iterator, List,
                    NamedTuple, Optional, Sequence, Tuple)

import torch
from torch import Tensor, nn

from .contract import NORMALIZE_PATCH, PatchAdapter
from .grid import PatchGrid
from .latent import LatentBuffer
from .norm import inner_modules
from .phases import phase


class Batch(NamedTuple):
    """One preprocessed batch, laid on its grid."""
    pixels: Any  # the grid-padded batch (B, C, m * ph, n * pw), or a source
    samples: list
    grid: PatchGrid
    image: Optional[Tensor]  # the global patches (B, C, gh, gw), or None


def make_grid(model: PatchAdapter, inputs: Any,
              data_samples: Optional[list]) -> PatchGrid:
    """The patch grid over a preprocessed batch ``(B, C, H, W)`` (a tensor
    or a pixel source), each image's valid region from its ``img_shape``.

    A preprocessor that leaves the batch uint8 offers ``normalize_patch``;
    the grid then normalises each patch as it reads it.
    """
    B, _, H, W = inputs.shape
    valid = None
    if data_samples:
        valid = [
            tuple(s.metainfo.get('img_shape', (H, W)))[:2]
            for s in data_samples
        ]
    normalize = getattr(model.data_preprocessor, NORMALIZE_PATCH, None)
    return PatchGrid((H, W), model.patch_cfg.patch_size, valid, B, normalize)


def global_size(model: PatchAdapter) -> Optional[Tuple[int, int]]:
    """The size of the global patch ``(gh, gw)``; None without one."""
    if model.global_fusion is None:
        return None
    return model.patch_cfg.global_size


def lay_out(model: PatchAdapter, inputs: Any,
            data_samples: Optional[list]) -> Batch:
    """Lay the patch grid over a preprocessed batch, pad it to the grid
    and resize the global patch (it depends on the pixels only, so once
    per batch)."""
    grid = make_grid(model, inputs, data_samples)
    size = global_size(model)
    image = grid.global_patch(inputs, size) if size else None
    return Batch(grid.pad(inputs), data_samples, grid, image)


def lay_out_data(model: PatchAdapter, data: Any,
                 context: ContextManager = nullcontext()) -> Batch:
    """Preprocess a batch as the dataloader yields it (in training mode,
    under ``context``, e.g. the optimizer wrapper's autocast) and lay it
    out."""
    with phase('preprocess'), context:
        data = model.data_preprocessor(data, True)
    return lay_out(model, data['inputs'], data['data_samples'])


def checkpointed(encode: Callable[[Tensor], Sequence[Tensor]], x: Tensor,
                 with_cp: bool) -> List[Tensor]:
    """``encode(x)``, under activation checkpointing when ``with_cp`` and
    gradients are on."""
    if not (with_cp and torch.is_grad_enabled()):
        return list(encode(x))
    from torch.utils.checkpoint import checkpoint
    return list(
        checkpoint(lambda t: tuple(encode(t)), x, use_reentrant=False))


def patch_encoder(model: PatchAdapter,
                  with_cp: bool) -> Callable[[Tensor], List[Tensor]]:
    """θ1 on patches, under activation checkpointing when ``with_cp``."""
    return partial(checkpointed, model.encode_patches, with_cp=with_cp)


def global_features(model: PatchAdapter, image: Optional[Tensor],
                    with_cp: Optional[bool] = None) -> List[Tensor]:
    """θ1 of the global patches ``image``, per level ``(B, C_l, gh, gw)``;
    ``[]`` without a global patch. ``with_cp`` defaults to
    ``patch_cfg.with_cp``."""
    if image is None:
        return []
    with phase('global'):
        return checkpointed(
            model.encode_global, image,
            model.patch_cfg.with_cp if with_cp is None else with_cp)


def host_checkpointed(modules: Iterable[nn.Module]) -> List[nn.Module]:
    """The modules inside ``modules`` that checkpoint their own activations
    (a ``with_cp`` flag set True, as mmcv's, mmdet's and mmpretrain's
    ResNet blocks and mmseg's U-Net blocks hold), each once, in forward
    order. A container that only hands its flag to such modules when it is
    built (mmdet's ``ResNet``) is not one of them."""

    def flagged(m: nn.Module) -> bool:
        return getattr(m, 'with_cp', None) is True

    return inner_modules(
        modules, lambda m: flagged(m) and not any(
            flagged(c) for c in m.modules() if c is not m))


@contextmanager
def uncheckpointed_host(modules: Iterable[nn.Module],
                        keep: int = 0) -> Iterator[None]:
    """θ1's host modules run without their own activation checkpointing for
    the block, all but the first ``keep`` of them in forward order (the
    memory plan's choice where the budget holds their activations:
    checkpointing would only add a forward); put back after. The flag is
    the host library's documented switch, read at each forward."""
    switched = host_checkpointed(modules)[keep:]
    for m in switched:
        m.with_cp = False
    try:
        yield
    finally:
        for m in switched:
            m.with_cp = True


def encode_batch(model: PatchAdapter, inputs: Any,
                 data_samples: Optional[list]
                 ) -> Tuple[LatentBuffer, List[Tensor]]:
    """Z and G of a preprocessed batch, for inference: memory is bounded by
    the fill chunk's activations plus Z, not by the image size. The padded
    batch lives during the fill only and the global patch after it."""
    cfg = model.patch_cfg
    grid = make_grid(model, inputs, data_samples)
    latent = LatentBuffer.fill_without_grad(
        grid, grid.pad(inputs), model.encode_patches,
        model.step_plan.fill_chunk_for(cfg),
        model.patch_encoder_modules() if cfg.eval_norms_in_fill else ())
    size = global_size(model)
    with torch.no_grad():
        image = grid.global_patch(inputs, size) if size else None
        return latent, global_features(model, image)
