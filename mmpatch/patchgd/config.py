"""PatchGD options (docs/method.md), frozen and validated when the model is
built."""
import warnings
from dataclasses import dataclass, fields
from typing import Any, Mapping, Optional, Tuple, Union

from mmpatch.utils.units import parse_bytes
from .grid import to_2tuple
from .sampler import SAMPLING_MODES

BN_MODES = ('eval', 'train')
GLOBAL_GRAD_MODES = ('every', 'once', 'none')
GRADIENT_MODES = ('sampled', 'full')
#: per gradient mode, the defaults of the options left at None
MODE_DEFAULTS = dict(
    sampled=dict(inner_iters=4, sample_fraction=0.25, fill_bn_mode='eval'),
    full=dict(inner_iters=1, sample_fraction=1.0, full_bn_mode='train'))
#: per gradient mode, its BatchNorm option and the other mode's
BN_KEYS = dict(sampled=('fill_bn_mode', 'full_bn_mode'),
               full=('full_bn_mode', 'fill_bn_mode'))


@dataclass(frozen=True)
class PatchGDConfig:
    """Every PatchGD option a user sets, with docs/method.md's defaults.

    Built from the ``patch_cfg`` dict of a task model's config, e.g.
    ``patch_cfg=dict(patch_size=512, inner_iters=4, sample_fraction=0.25)``.
    It is immutable: what is chosen at run time (a planned k, chunk sizes,
    the latent cache) lives in the model's
    :class:`~mmpatch.patchgd.plan.StepPlan`.

    Attributes:
        gradient: how θ1 gets its gradient. ``'sampled'`` (PatchGD, the
            paper's algorithm): each inner iteration re-encodes k sampled
            cells with gradients. ``'full'``: one inner iteration over every
            cell; θ2's backward gives dL/dZ, and the cells are re-encoded
            ``backward_chunk`` at a time and back-propagated with their
            slice of it: the exact gradient of the full computation, with
            memory that does not grow with k (docs/method.md).
        keep_chunks: ``'full'`` only: how many of the fill's chunks run
            with gradients and keep their graph until θ2's backward gives
            dL/dZ; they are back-propagated directly and only the others
            are re-encoded. Memory grows by one chunk's activations per
            kept chunk; time falls by one forward of θ1 per chunk. None:
            the memory plan's choice with a ``memory_budget``, else 0 (every
            chunk re-encoded). A number larger than the fill's chunks keeps
            them all: one forward and one backward of every cell.
        backward_chunk: patches re-encoded with gradients at a time, their
            gradient taken from dL/dZ. ``'full'``: defaults to the fill
            chunk. ``'sampled'``: None re-encodes the k sampled cells of all
            images in one pass with gradients (as PatchGD does); a number
            encodes them first without gradients, runs θ2, then re-encodes
            them in chunks (less memory; the same numbers unless θ1 has
            BatchNorm in train mode, whose statistics become per chunk).
        patch_size: p, pixels, int or ``(h, w)``.
        global_size: size the global patch is resized to; ``None`` = p.
        inner_iters: I, inner iterations per training step (``'sampled'``:
            4 by default; ``'full'``: 1, the only value).
        sample_fraction: k as a fraction of the ``m * n`` grid cells
            (``'sampled'``: 0.25 by default; ``'full'``: 1, every cell).
        patches_per_iter: k as a count (overrides ``sample_fraction``), or
            ``'auto'``: the largest k that fits ``memory_budget``.
        sampling: ``'disjoint'`` or ``'random'`` (see :class:`PatchSampler`).
        accumulate: ε, inner iterations per optimizer step; ``None`` = I.
        keep_updates: keep the re-encoded patches in Z between inner
            iterations (PatchGD) instead of resetting Z to the fill.
        fill_chunk: patches per no-grad forward of θ1 in the fill.
        fill_bn_mode: ``'sampled'`` only: θ1's BatchNorm during the fill,
            ``'eval'`` (the default: running statistics, not updated) or
            ``'train'``; the sampled cells always see the model's mode.
        full_bn_mode: ``'full'`` only: θ1's BatchNorm in the whole step,
            both passes over the cells and the global patch. ``'train'``
            (the default) uses each chunk's batch statistics (the same
            chunks in both passes) and updates the running statistics once
            per patch, in the fill; ``'eval'`` freezes them (``norm_eval``),
            the choice for a pretrained θ1. Unset, it warns.
        global_grad: the global patch's θ1 pass: ``'every'`` inner iteration
            with gradients, ``'once'`` per optimizer step with gradients, or
            ``'none'`` (no gradients through the global patch).
        with_cp: activation checkpointing of θ1 on the sampled patches and
            the global patch: their activations are recomputed in the
            backward pass instead of kept, one θ1 pass at a time. Less
            memory for one more θ1 forward per inner iteration. BatchNorm in
            train mode updates its running statistics twice (as mmcv's
            ``with_cp``).
        memory_budget: e.g. ``'4G'``; needed by ``patches_per_iter='auto'``.
        seed: base seed of the cell sampler; ``None`` takes the runner's.
        check_finite: stop with a clear error on a NaN/inf loss before it
            reaches the weights.
    """
    gradient: str = 'sampled'
    backward_chunk: Optional[int] = None
    keep_chunks: Optional[int] = None
    patch_size: Tuple[int, int] = (256, 256)
    global_size: Optional[Tuple[int, int]] = None
    inner_iters: Optional[int] = None
    sample_fraction: Optional[float] = None
    patches_per_iter: Optional[Union[int, str]] = None
    sampling: str = 'disjoint'
    accumulate: Optional[int] = None
    keep_updates: bool = True
    fill_chunk: int = 16
    fill_bn_mode: Optional[str] = None
    full_bn_mode: Optional[str] = None
    global_grad: str = 'every'
    with_cp: bool = False
    memory_budget: Optional[Union[str, int, float]] = None
    seed: Optional[int] = None
    check_finite: bool = True

    @classmethod
    def build(cls, cfg: Optional[Mapping[str, Any]]) -> 'PatchGDConfig':
        """Validate a ``patch_cfg`` dict; errors name the key and the fix."""
        cfg = dict(cfg or {})
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(cfg) - known)
        if unknown:
            raise ValueError(f'patch_cfg has unknown keys {unknown}; the '
                             f'valid keys are {sorted(known)}')
        return cls(**cfg)

    def __post_init__(self) -> None:
        # the dataclass is frozen: the normalised values are set once, here
        set_ = object.__setattr__
        set_(self, 'patch_size',
             to_2tuple(self.patch_size, 'patch_cfg.patch_size'))
        set_(self, 'global_size', self.patch_size if self.global_size is None
             else to_2tuple(self.global_size, 'patch_cfg.global_size'))
        if self.gradient not in GRADIENT_MODES:
            raise ValueError(f'patch_cfg.gradient must be one of '
                             f'{GRADIENT_MODES}, got {self.gradient!r}')
        own, other = BN_KEYS[self.gradient]
        if getattr(self, other) is not None:
            other_mode = 'full' if other == 'full_bn_mode' else 'sampled'
            raise ValueError(
                f"patch_cfg.{other} applies to gradient='{other_mode}' only, "
                f'but gradient={self.gradient!r}: set {own} instead')
        if self.full_gradient:
            self._check_full()
            if self.full_bn_mode is None:
                warnings.warn(
                    "patch_cfg.gradient='full' without full_bn_mode: θ1's "
                    'BatchNorm, if any, runs in train mode (the default) and '
                    'normalises each chunk of patches by its own statistics;'
                    " with a pretrained θ1 set full_bn_mode='eval' (its "
                    "running statistics, as mmdet's norm_eval), or "
                    "full_bn_mode='train' to keep this (docs/method.md)")
        for key, value in MODE_DEFAULTS[self.gradient].items():
            if getattr(self, key) is None:
                set_(self, key, value)
        _check_int(self.inner_iters, 'inner_iters', 1)
        if self.accumulate is None:
            set_(self, 'accumulate', self.inner_iters)
        self._validate()

    @property
    def full_gradient(self) -> bool:
        """Whether the step back-propagates every cell (``gradient='full'``).
        """
        return self.gradient == 'full'

    @property
    def eval_norms_in_fill(self) -> bool:
        """Whether θ1's BatchNorm runs in eval mode in the fill."""
        return (self.full_bn_mode if self.full_gradient else
                self.fill_bn_mode) == 'eval'

    @property
    def eval_norms_in_step(self) -> bool:
        """Whether θ1's BatchNorm runs in eval mode in the whole step
        (``'full'`` with ``full_bn_mode='eval'``)."""
        return self.full_gradient and self.full_bn_mode == 'eval'

    def _check_full(self) -> None:
        """``gradient='full'`` is one inner iteration over every cell:
        refuse options that say otherwise."""
        clashes = dict(inner_iters=1, sample_fraction=1.0, accumulate=1)
        for key, need in clashes.items():
            value = getattr(self, key)
            if value is not None and value != need:
                raise ValueError(
                    f"patch_cfg.gradient='full' back-propagates every cell in "
                    f'one inner iteration, but patch_cfg.{key}={value!r}; '
                    f'remove {key} (or set it to {need}), or use '
                    "gradient='sampled'")
        if self.patches_per_iter is not None:
            raise ValueError(
                "patch_cfg.gradient='full' re-encodes every cell, so "
                f'patch_cfg.patches_per_iter={self.patches_per_iter!r} has no '
                'meaning: remove it (a memory_budget chooses the chunk sizes '
                "instead), or use gradient='sampled'")

    def _validate(self) -> None:
        if not (isinstance(self.sample_fraction, (int, float))
                and 0 < self.sample_fraction <= 1):
            raise ValueError('patch_cfg.sample_fraction must be in (0, 1], '
                             f'got {self.sample_fraction!r}')
        if self.patches_per_iter == 'auto':
            if self.memory_budget is None:
                raise ValueError(
                    "patch_cfg.patches_per_iter='auto' needs a memory budget:"
                    " set patch_cfg.memory_budget (e.g. '4G') or give a "
                    'number of patches instead')
        elif self.patches_per_iter is not None:
            _check_int(self.patches_per_iter, 'patches_per_iter', 1,
                       "or 'auto'")
        if self.sampling not in SAMPLING_MODES:
            raise ValueError(f'patch_cfg.sampling must be one of '
                             f'{SAMPLING_MODES}, got {self.sampling!r}')
        _check_int(self.accumulate, 'accumulate', 1)
        if self.accumulate > self.inner_iters:
            raise ValueError(
                f'patch_cfg.accumulate={self.accumulate} exceeds inner_iters='
                f'{self.inner_iters}: the optimizer steps at least once per '
                'training step; lower accumulate or raise inner_iters')
        _check_int(self.fill_chunk, 'fill_chunk', 1)
        if self.backward_chunk is not None:
            _check_int(self.backward_chunk, 'backward_chunk', 1)
        if self.keep_chunks is not None:
            _check_int(self.keep_chunks, 'keep_chunks', 0)
            if not self.full_gradient:
                raise ValueError(
                    "patch_cfg.keep_chunks applies to gradient='full' only "
                    '(it keeps the graphs of the fill\'s chunks for the '
                    "backward); remove it, or set gradient='full'")
        key = BN_KEYS[self.gradient][0]
        if getattr(self, key) not in BN_MODES:
            raise ValueError(f'patch_cfg.{key} must be one of {BN_MODES}, '
                             f'got {getattr(self, key)!r}')
        if self.global_grad not in GLOBAL_GRAD_MODES:
            raise ValueError('patch_cfg.global_grad must be one of '
                             f'{GLOBAL_GRAD_MODES}, got {self.global_grad!r}')
        if not isinstance(self.with_cp, bool):
            raise ValueError('patch_cfg.with_cp must be True or False, got '
                             f'{self.with_cp!r}')
        if self.memory_budget is not None:
            parse_bytes(self.memory_budget)  # raises a clear ValueError

    @property
    def budget_bytes(self) -> Optional[int]:
        """``memory_budget`` in bytes, or None."""
        if self.memory_budget is None:
            return None
        return parse_bytes(self.memory_budget)

    def patches_for(self, num_cells: int, image_shape: Tuple[int, int],
                    planned: Optional[int] = None) -> int:
        """k for a grid of ``num_cells`` cells (clear error if it can't fit).

        Args:
            num_cells (int): ``m * n``.
            image_shape (tuple[int, int]): the batch's ``(H, W)``, named in
                errors.
            planned (int, optional): the memory plan's k (the model's
                :class:`~mmpatch.patchgd.plan.StepPlan`); it takes the place
                of the configured k.
        """
        if planned is not None:
            return min(planned, num_cells)
        if self.patches_per_iter == 'auto':
            raise RuntimeError(
                "patch_cfg.patches_per_iter='auto' but no memory plan was "
                "made: add dict(type='MemoryBudgetHook') to custom_hooks "
                '(configs/_base_/patchgd_runtime.py has it) so the budget '
                'is planned before training')
        if self.patches_per_iter is not None:
            if self.patches_per_iter > num_cells:
                raise ValueError(
                    f'patch_cfg.patches_per_iter={self.patches_per_iter} '
                    f'exceeds the {num_cells} cells of the patch grid of a '
                    f'{image_shape[0]}x{image_shape[1]} batch with '
                    f'{self.patch_size[0]}x{self.patch_size[1]} patches; '
                    'lower patches_per_iter or use sample_fraction')
            return self.patches_per_iter
        return max(1, round(self.sample_fraction * num_cells))


def _check_int(value: Any, key: str, minimum: int, extra: str = '') -> None:
    if not (isinstance(value, int) and not isinstance(value, bool)
            and value >= minimum):
        raise ValueError(f'patch_cfg.{key} must be an int >= {minimum}'
                         f'{" " + extra if extra else ""}, got {value!r}')
