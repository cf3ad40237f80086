"""PatchGDMixin: the facade that wires a host model to the PatchGD engine."""
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple

import torch
from torch import Tensor, nn

from .config import PatchGDConfig
from .fusion import check_fusion
from .latent import LatentBuffer
from .layout import encode_batch, global_features, lay_out
from .phases import phase
from .plan import StepPlan, StepStats
from .precise_bn import recalibrate_norm_stats
from .sampler import PatchSampler
from .step import TrainStep


class PatchGDMixin:
    """PatchGD for an mmengine ``BaseModel``; task models are thin adapters.

    A task model inherits ``(HostModel, PatchGDMixin, <host library base
    model>)`` (``HostModel``: :mod:`mmpatch.models.host`), calls
    :meth:`init_patchgd` in ``__init__`` and implements the adapter's
    part of :class:`~mmpatch.patchgd.contract.PatchAdapter`
    (``encode_patches``, ``loss_by_latent``, ``predict_by_latent``,
    ``patch_encoder_modules``; ``encode_global`` when the global patch takes
    another path through θ1).

    The mixin holds the engine's state and wires the host's entry points
    to the engine: ``train_step`` to :class:`~mmpatch.patchgd.step.
    TrainStep`, ``loss`` and ``predict`` to :mod:`~mmpatch.patchgd.layout`.
    ``loss()`` (what ``forward(mode='loss')`` calls) is the plain
    computation over every patch with gradients: the reference that PatchGD
    must equal when ``k = m * n`` and ``I = 1``.

    State: ``patch_cfg`` (what the user configured, frozen), ``step_plan``
    (what the run chose: planned k, chunks, latent cache; replaced only
    through :meth:`set_step_plan`), ``last_step_stats`` (what the last
    training step did), ``patch_sampler`` and the ``patchgd_step`` buffer
    (saved with the weights, so that a resumed run samples the cells the
    uninterrupted run would have sampled).
    """

    patch_cfg: PatchGDConfig
    global_fusion: Optional[str]

    def init_patchgd(self, patch_cfg: Optional[dict],
                     global_fusion: Optional[str] = None) -> None:
        """Validate ``patch_cfg`` and ``global_fusion``; set up the sampler,
        the plan and the step counter."""
        self.patch_cfg = PatchGDConfig.build(patch_cfg)
        self.global_fusion = check_fusion(global_fusion)
        self.patch_sampler = PatchSampler(self.patch_cfg.sampling,
                                          self.patch_cfg.seed)
        self.register_buffer(
            'patchgd_step', torch.zeros((), dtype=torch.long), persistent=True)
        self._step_plan = StepPlan()
        self.last_step_stats: Optional[StepStats] = None

    # --------------------------------------------------- task adapter's part
    def encode_global(self, image: Tensor) -> List[Tensor]:
        """θ1 on the global patch ``(B, C, gh, gw)``; θ1 itself by default."""
        return self.encode_patches(image)

    def patch_encoder_modules(self) -> List[nn.Module]:
        """Modules of θ1, whose BatchNorm the BatchNorm options govern."""
        return [self]

    # ------------------------------------------------------------------ state
    @property
    def step_plan(self) -> StepPlan:
        """The run's choices for the training steps (see :class:`StepPlan`)."""
        return self._step_plan

    def set_step_plan(self, plan: StepPlan) -> None:
        """Replace the step plan: the one way runtime choices reach the
        model (the memory-budget and latent-cache hooks call it)."""
        if not isinstance(plan, StepPlan):
            raise TypeError(f'expected a StepPlan, got {type(plan).__name__}')
        self._step_plan = plan

    def record_step(self, stats: Optional[StepStats]) -> None:
        """Keep what the training step just did (:attr:`last_step_stats`)."""
        self.last_step_stats = stats

    # ---------------------------------------------------------- host methods
    def encode_image(self, inputs: Any,
                     data_samples: Optional[list]) -> Tuple[LatentBuffer,
                                                            List[Tensor]]:
        """Z and the global features of a preprocessed batch, for inference
        (memory bounded by the fill chunk's activations plus Z)."""
        return encode_batch(self, inputs, data_samples)

    def loss(self, inputs: Tensor, data_samples: list) -> Dict[str, Tensor]:
        """Losses of the full computation: every patch with gradients.

        This is what ``forward(mode='loss')`` returns. Its memory grows with
        the image; training goes through :meth:`train_step` instead, which a
        distributed run reaches through
        :class:`~mmpatch.engine.distributed.PatchGDDistributedDataParallel`.
        """
        from mmengine.dist import is_distributed
        if self.training and is_distributed():
            raise RuntimeError(
                'an mmpatch model is being trained by a distributed wrapper '
                "that calls forward(mode='loss'), the full computation over "
                'every patch, instead of the PatchGD step; set '
                "model_wrapper_cfg = dict(type='PatchGDDistributedDataParallel')"
                ' in the config')
        batch = lay_out(self, inputs, data_samples)
        latent = LatentBuffer.fill(
            batch.grid, batch.pixels, self.encode_patches,
            self.step_plan.fill_chunk_for(self.patch_cfg))
        return self.loss_by_latent(latent, global_features(self, batch.image),
                                   data_samples)

    def predict(self,
                inputs: Tensor,
                data_samples: Optional[list] = None,
                **kwargs) -> list:
        """Whole-image predictions, made once from Z (no per-patch merge);
        ``kwargs`` go to ``predict_by_latent`` (e.g. mmdet's ``rescale``)."""
        latent, global_feats = self.encode_image(inputs, data_samples)
        with phase('head_predict'):
            return self.predict_by_latent(latent, global_feats, data_samples,
                                          **kwargs)

    def recalibrate_norm_stats(self, batches: Iterable[Any]) -> int:
        """Precise BN: θ1's running statistics recomputed from ``batches``
        (see :func:`~mmpatch.patchgd.precise_bn.recalibrate_norm_stats`)."""
        return recalibrate_norm_stats(self, batches)

    def train_step(self,
                   data: Any,
                   optim_wrapper,
                   grad_sync: Optional[Callable[[], None]] = None
                   ) -> Dict[str, Tensor]:
        """One PatchGD step (docs/method.md) driven through
        ``optim_wrapper``; see :class:`~mmpatch.patchgd.step.TrainStep`.

        Args:
            data: the batch as the dataloader yields it.
            optim_wrapper: the runner's ``OptimWrapper``.
            grad_sync (callable, optional): averages gradients over ranks
                before each optimizer step; the DDP wrapper passes its own.
        """
        return TrainStep(self, optim_wrapper, grad_sync).run(data)
