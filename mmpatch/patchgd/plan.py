"""Runtime choices of a PatchGD model, and the record of one step.

:class:`~mmpatch.patchgd.config.PatchGDConfig` holds what the user wrote in
``patch_cfg`` and never changes. What is decided while the run is under
way (the k the memory planner found, the fill chunk it allows, the latent
cache a hook provides) is a :class:`StepPlan`: immutable too, held by the
model and replaced only through :meth:`PatchGDMixin.set_step_plan
<mmpatch.patchgd.mixin.PatchGDMixin.set_step_plan>`. A step reads both and
reports what it did as a :class:`StepStats`.
"""
from dataclasses import dataclass
from typing import Optional, Tuple

from .cache import HostLatentCache
from .config import PatchGDConfig


@dataclass(frozen=True)
class StepPlan:
    """What the run chose for the model's training steps.

    Attributes:
        patches_per_iter: k chosen by the memory planner; None keeps
            ``patch_cfg``'s (and is an error with ``patches_per_iter='auto'``).
        fill_chunk: patches per no-grad forward in the fill; None keeps
            ``patch_cfg.fill_chunk``.
        backward_chunk: patches re-encoded with gradients at a time; None
            keeps ``patch_cfg.backward_chunk``.
        keep_chunks: fill chunks whose graphs the full-gradient step keeps
            (the memory plan's choice); ``patch_cfg.keep_chunks``, when
            set, takes its place.
        checkpoint: how much of θ1's activation checkpointing the step
            keeps, the memory plan's choice once the budget holds every
            chunk's graph: None: as configured; an int n: no
            ``patch_cfg.with_cp`` and only the first n of θ1's host modules
            that checkpoint their own activations (``with_cp`` of mmdet's
            and mmpretrain's ResNet blocks, in forward order: the finest
            maps, the most memory a recomputed FLOP saves) keep it; 0 (or
            False): none, each block runs forward once.
        cache: the host cache of each sample's Z between visits
            (:class:`~mmpatch.engine.hooks.LatentCacheHook` provides it).
        planned_cells: the most grid cells (over the batch) the memory plan
            was made for; a larger batch must be planned again before it
            runs. None: no plan.
    """
    patches_per_iter: Optional[int] = None
    fill_chunk: Optional[int] = None
    backward_chunk: Optional[int] = None
    keep_chunks: Optional[int] = None
    checkpoint: Optional[int] = None
    cache: Optional[HostLatentCache] = None
    planned_cells: Optional[int] = None

    def __post_init__(self) -> None:
        if self.checkpoint is not None:
            if (self.checkpoint is True
                    or not isinstance(self.checkpoint, int)
                    or self.checkpoint < 0):
                raise ValueError(
                    'StepPlan.checkpoint must be None (as configured) or an '
                    "int >= 0 (how many of θ1's checkpointed host modules "
                    'keep their checkpointing; 0 or False: none), got '
                    f'{self.checkpoint!r}')
            object.__setattr__(self, 'checkpoint', int(self.checkpoint))
        for key in ('patches_per_iter', 'fill_chunk', 'backward_chunk',
                    'planned_cells', 'keep_chunks'):
            value, least = getattr(self, key), int(key != 'keep_chunks')
            if value is not None and not (isinstance(value, int)
                                          and value >= least):
                raise ValueError(f'StepPlan.{key} must be an int >= {least} '
                                 f'or None, got {value!r}')

    def fill_chunk_for(self, cfg: PatchGDConfig) -> int:
        """The fill chunk a step uses."""
        return self.fill_chunk or cfg.fill_chunk

    def backward_chunk_for(self, cfg: PatchGDConfig) -> Optional[int]:
        """The backward chunk a step uses: None re-encodes the sampled cells
        in one pass (``'sampled'`` only); ``'full'`` defaults to the fill
        chunk."""
        chunk = self.backward_chunk or cfg.backward_chunk
        if chunk is None and cfg.full_gradient:
            return self.fill_chunk_for(cfg)
        return chunk

    def keep_chunks_for(self, cfg: PatchGDConfig) -> int:
        """How many fill chunks a full-gradient step keeps with their
        graphs: ``patch_cfg``'s if set, else the plan's, else 0."""
        if not cfg.full_gradient:
            return 0
        if cfg.keep_chunks is not None:
            return cfg.keep_chunks
        return self.keep_chunks or 0

    def with_cp_for(self, cfg: PatchGDConfig) -> bool:
        """Whether the step checkpoints the engine's θ1 passes with
        gradients (``patch_cfg.with_cp`` unless the plan sets how much
        checkpointing the step keeps)."""
        return cfg.with_cp and self.checkpoint is None

    def patches_for(self, cfg: PatchGDConfig, num_cells: int,
                    image_shape: Tuple[int, int]) -> int:
        """The k a step uses on a grid of ``num_cells`` cells."""
        return cfg.patches_for(num_cells, image_shape, self.patches_per_iter)


@dataclass(frozen=True)
class StepStats:
    """What one training step did, for logs and benchmarks.

    Attributes:
        fill_s: seconds from the start of the step to a filled Z.
        step_s: seconds of the whole step.
        latent_bytes: bytes of Z (all levels).
        patches_per_iter: k, cells per image re-encoded per inner iteration.
        grid: ``(m, n)`` rows and columns of the patch grid.
        gradient: ``patch_cfg.gradient``.
        backward_chunk: patches per chunked re-encoding with gradients, or
            None (one pass).
        kept_chunks: fill chunks back-propagated through their kept graph
            instead of re-encoded.
        cache_hit: whether Z came from the latent cache instead of a fill.
    """
    fill_s: float
    step_s: float
    latent_bytes: int
    patches_per_iter: int
    grid: Tuple[int, int]
    cache_hit: bool = False
    gradient: str = 'sampled'
    backward_chunk: Optional[int] = None
    kept_chunks: int = 0

    @property
    def latent_mb(self) -> float:
        return self.latent_bytes / 2**20
