"""PatchGDMixin: the contract between the PatchGD engine and a task model."""
import copy
from contextlib import contextmanager
from typing import (Any, Callable, Dict, Iterable, Iterator, List, Optional,
                    Sequence, Tuple)

import torch
from torch import Tensor, nn

from mmpatch.models.data_preprocessors import DeferredNormalization
from .config import PatchGDConfig
from .fusion import check_fusion
from .grid import PatchGrid
from .latent import LatentBuffer
from .norm import eval_batch_norms
from .plan import StepPlan, StepStats
from .precise_bn import recalibrate_norm_stats
from .sampler import PatchSampler, image_generator
from .step import TrainStep


class PatchGDMixin:
    """PatchGD for an mmengine ``BaseModel``; task models are thin adapters.

    A task model inherits ``(PatchGDMixin, <host library base model>)``, calls
    :meth:`init_patchgd` in ``__init__`` and implements the adapter's part:

    * :meth:`encode_patches` (θ1): ``(N, C, ph, pw)`` patches -> one
      ``(N, C_l, fh_l, fw_l)`` map per level ``l``;
    * :meth:`loss_by_latent` (θ2 + the host's loss): Z (a
      :class:`LatentBuffer` of ``(B, C_l, m * fh_l, n * fw_l)`` maps) and
      the global features G (per level ``(B, C_l, gh_l, gw_l)``, or ``[]``
      without a global patch) -> the host library's loss dict;
    * :meth:`predict_by_latent`: the same, ending in the host library's
      post-processing -> its data samples with predictions;
    * :meth:`patch_encoder_modules`: the modules of θ1 (whose BatchNorm
      ``bn_mode`` governs), and optionally :meth:`encode_global` when the
      global patch takes another path through θ1.

    Fusing Z with G is shared (:func:`~mmpatch.patchgd.fusion.fuse_global`).
    The mixin owns everything else: the grid, the fill, the sampler, the
    training step (:class:`~mmpatch.patchgd.step.TrainStep`), whole-image
    inference and precise BN. ``loss()`` (what ``forward(mode='loss')``
    calls) is the plain computation over every patch with gradients: the
    reference that PatchGD must equal when ``k = m * n`` and ``I = 1``.

    State: ``patch_cfg`` (what the user configured, frozen), ``step_plan``
    (what the run chose: planned k, fill chunk, latent cache; replaced only
    through :meth:`set_step_plan`) and ``last_step_stats`` (what the last
    training step did).
    """

    patch_cfg: PatchGDConfig
    global_fusion: Optional[str]

    #: the host library's model this adapter extends (its registry name)
    host_model_type: str = ''
    #: constructor arguments that only the PatchGD model takes
    patchgd_args: Tuple[str, ...] = ('patch_cfg', 'global_fusion',
                                     'latent_channels')
    #: mmpatch's uint8 data preprocessor -> the host's (a stock model
    #: needs the host's float batch)
    host_preprocessors: Dict[str, str] = {}

    @classmethod
    def host_model_cfg(cls, cfg: dict) -> dict:
        """The host library's stock model for a config of this class: the
        same network without PatchGD (the benchmarks' baseline)."""
        out = {
            k: copy.deepcopy(v)
            for k, v in cfg.items() if k not in cls.patchgd_args
        }
        out['type'] = cls.host_model_type
        pre = out.get('data_preprocessor') or {}
        if pre.get('type') in cls.host_preprocessors:
            out['data_preprocessor'] = dict(
                pre, type=cls.host_preprocessors[pre['type']])
        return out

    def init_patchgd(self, patch_cfg: Optional[dict],
                     global_fusion: Optional[str] = None) -> None:
        """Validate ``patch_cfg`` and ``global_fusion``; set up the sampler,
        the plan and the step counter."""
        self.patch_cfg = PatchGDConfig.build(patch_cfg)
        self.global_fusion = check_fusion(global_fusion)
        self.patch_sampler = PatchSampler(self.patch_cfg.sampling)
        # training steps taken; saved with the weights so that a resumed run
        # samples the cells the uninterrupted run would have sampled
        self.register_buffer(
            'patchgd_step', torch.zeros((), dtype=torch.long), persistent=True)
        self._sampler_seed: Optional[int] = self.patch_cfg.seed
        self._step_plan = StepPlan()
        self.last_step_stats: Optional[StepStats] = None

    @classmethod
    def refuse_host_option(cls, value: Any, why: str) -> None:
        """Stop at build time when a host option this model cannot honour
        is set (``value`` truthy); ``why`` names the option and the fix."""
        if value:
            raise ValueError(f'{cls.__name__} {why}')

    # --------------------------------------------------- task adapter's part
    def encode_patches(self, patches: Tensor) -> Sequence[Tensor]:
        """θ1: ``(N, C, ph, pw)`` -> per level ``(N, C_l, fh_l, fw_l)``."""
        raise NotImplementedError

    def encode_global(self, image: Tensor) -> Sequence[Tensor]:
        """θ1 on the global patch ``(B, C, gh, gw)``; θ1 itself by default."""
        return self.encode_patches(image)

    def loss_by_latent(self, latent: LatentBuffer, global_feats: List[Tensor],
                       data_samples: list) -> Dict[str, Tensor]:
        """θ2 and the host's loss over the whole image (see the class)."""
        raise NotImplementedError

    def predict_by_latent(self, latent: LatentBuffer,
                          global_feats: List[Tensor],
                          data_samples: list) -> list:
        """θ2 and the host's post-processing (see the class)."""
        raise NotImplementedError

    def patch_encoder_modules(self) -> List[nn.Module]:
        """Modules of θ1, whose BatchNorm ``bn_mode`` governs in the fill."""
        return [self]

    @property
    def uses_global_patch(self) -> bool:
        """False for PatchGD without the global patch (a baseline)."""
        return self.global_fusion is not None

    # ------------------------------------------------------- runtime state
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

    def record_step(self, stats: StepStats) -> None:
        """Keep what the training step just did (:attr:`last_step_stats`)."""
        self.last_step_stats = stats

    @contextmanager
    def probing(self) -> Iterator[None]:
        """Eval mode without gradients, for shape probes at build time.

        BatchNorm in train mode fails on a 1-sample, 1x1 map; the caller's
        mode is restored afterwards.
        """
        was_training = self.training
        self.eval()
        try:
            with torch.no_grad():
                yield
        finally:
            self.train(was_training)

    # ----------------------------------------------------------------- pieces
    def make_grid(self, inputs: Any,
                  data_samples: Optional[list]) -> PatchGrid:
        """The patch grid over a preprocessed batch ``(B, C, H, W)`` (a
        tensor or a pixel source)."""
        B, _, H, W = inputs.shape
        valid = None
        if data_samples:
            valid = [
                tuple(s.metainfo.get('img_shape', (H, W)))[:2]
                for s in data_samples
            ]
        # a DeferredNormalization preprocessor leaves the batch uint8; the
        # grid normalises each patch as it reads it
        normalize = (self.data_preprocessor.normalize_patch if isinstance(
            self.data_preprocessor, DeferredNormalization) else None)
        return PatchGrid((H, W), self.patch_cfg.patch_size, valid, B,
                         normalize)

    def fill_latent(self,
                    x: Any,
                    grid: PatchGrid,
                    chunk: Optional[int] = None) -> LatentBuffer:
        """Z of a grid-padded batch, with no gradients, ``chunk`` patches
        per forward (default: the step plan's fill chunk).

        With ``bn_mode='eval'`` θ1's BatchNorm runs in eval mode: the fill
        sees every patch without gradients, and letting it update the
        running statistics would count each patch once more per step.
        """
        modules = (self.patch_encoder_modules()
                   if self.patch_cfg.bn_mode == 'eval' else [])
        chunk = chunk or self.step_plan.fill_chunk_for(self.patch_cfg)
        with torch.no_grad(), eval_batch_norms(modules):
            return LatentBuffer.fill(grid, x, self.encode_patches, chunk)

    def global_image(self, inputs: Any,
                     grid: PatchGrid) -> Optional[Tensor]:
        """Each image's global patch ``(B, C, gh, gw)``; None without one."""
        if not self.uses_global_patch:
            return None
        return grid.global_patch(inputs, self.patch_cfg.global_size)

    def global_features(self, image: Optional[Tensor]) -> List[Tensor]:
        """θ1 of the global patches ``image``, per level ``(B, C_l, gh, gw)``.
        """
        if image is None:
            return []
        return self.checkpointed(self.encode_global, image)

    def checkpointed(self, encode: Callable[[Tensor], Sequence[Tensor]],
                     x: Tensor) -> List[Tensor]:
        """``encode(x)``, under activation checkpointing when ``with_cp``."""
        if not (self.patch_cfg.with_cp and torch.is_grad_enabled()):
            return list(encode(x))
        from torch.utils.checkpoint import checkpoint
        return list(
            checkpoint(lambda t: tuple(encode(t)), x, use_reentrant=False))

    def encode_image(self, inputs: Any,
                     data_samples: Optional[list]) -> Tuple[LatentBuffer,
                                                            List[Tensor]]:
        """Z and the global features of a batch, for inference.

        Memory is bounded by the fill chunk's activations plus Z, not by the
        image size.
        """
        grid = self.make_grid(inputs, data_samples)
        latent = self.fill_latent(grid.pad(inputs), grid)
        with torch.no_grad():
            return latent, self.global_features(self.global_image(inputs, grid))

    def recalibrate_norm_stats(self, batches: Iterable[Any]) -> int:
        """Precise BN: θ1's running statistics recomputed from ``batches``
        (see :func:`~mmpatch.patchgd.precise_bn.recalibrate_norm_stats`)."""
        return recalibrate_norm_stats(self, batches)

    # ---------------------------------------------------------- host methods
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
        grid = self.make_grid(inputs, data_samples)
        latent = LatentBuffer.fill(
            grid, grid.pad(inputs), self.encode_patches,
            self.step_plan.fill_chunk_for(self.patch_cfg))
        return self.loss_by_latent(
            latent, self.global_features(self.global_image(inputs, grid)),
            data_samples)

    def predict(self, inputs: Tensor, data_samples: Optional[list] = None):
        """Whole-image predictions, made once from Z (no per-patch merge)."""
        latent, global_feats = self.encode_image(inputs, data_samples)
        return self.predict_by_latent(latent, global_feats, data_samples)

    # ------------------------------------------------------------- training
    def sampler_generators(self, batch_size: int) -> List[torch.Generator]:
        """One sampler generator per image of this step's batch."""
        from mmengine.dist import get_rank
        if self._sampler_seed is None:
            # the runner seeds torch before training; resumed runs get the
            # same seed back from the checkpoint's meta
            self._sampler_seed = torch.initial_seed()
        step, first = int(self.patchgd_step), get_rank() * batch_size
        return [
            image_generator(self._sampler_seed, step, first + i)
            for i in range(batch_size)
        ]

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

