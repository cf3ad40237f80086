"""The adapter contract: what the PatchGD engine asks of a task model.

The engine (:mod:`~mmpatch.patchgd.layout`, :mod:`~mmpatch.patchgd.step`,
:mod:`~mmpatch.patchgd.precise_bn`) is typed against :class:`PatchAdapter`
and never imports a task model or the facade: a model satisfies the contract by inheriting
:class:`~mmpatch.patchgd.mixin.PatchGDMixin` (which supplies the state and
the host entry points) and implementing the four methods of the
adapter's part.
"""
from typing import (Any, Callable, Dict, List, Optional, Protocol, Sequence,
                    Tuple, runtime_checkable)

from torch import Tensor, nn

from .config import PatchGDConfig
from .latent import LatentBuffer
from .plan import StepPlan, StepStats
from .sampler import PatchSampler

#: a data preprocessor that leaves the batch uint8 offers this method: the
#: grid normalises each patch as it reads it ``(N, C, ph, pw) -> float``
NORMALIZE_PATCH = 'normalize_patch'


@runtime_checkable
class PatchAdapter(Protocol):
    """A task model the engine can train and run.

    State (held by :class:`~mmpatch.patchgd.mixin.PatchGDMixin`):

    * ``patch_cfg``: the user's options, frozen;
    * ``global_fusion``: ``'concat'``, ``'add'``, ``'gated'`` or None (no
      global patch);
    * ``step_plan``: the run's choices (one writer: ``set_step_plan``);
    * ``patch_sampler``: draws the cells of each inner iteration;
    * ``patchgd_step``: training steps taken, a ``()`` long buffer saved
      with the weights;
    * ``data_preprocessor``: the host's, called as ``(data, training)``.

    The adapter's part (shapes per feature level ``l``):

    * :meth:`encode_patches` (θ1): ``(N, C, ph, pw)`` -> ``(N, C_l, fh_l,
      fw_l)`` per level;
    * :meth:`encode_global`: θ1 on the global patch ``(B, C, gh, gw)``;
    * :meth:`loss_by_latent` (θ2 + the host's loss) and
      :meth:`predict_by_latent` (θ2 + the host's post-processing) on Z and
      the global features G;
    * :meth:`patch_encoder_modules`: θ1's modules (their BatchNorm is what
      the BatchNorm options govern).
    """

    patch_cfg: PatchGDConfig
    global_fusion: Optional[str]
    patchgd_step: Tensor
    patch_sampler: PatchSampler
    data_preprocessor: Callable[..., dict]

    @property
    def step_plan(self) -> StepPlan:
        ...

    def record_step(self, stats: StepStats) -> None:
        ...

    def encode_patches(self, patches: Tensor) -> Sequence[Tensor]:
        ...

    def encode_global(self, image: Tensor) -> Sequence[Tensor]:
        ...

    def loss_by_latent(self, latent: LatentBuffer, global_feats: List[Tensor],
                       data_samples: list) -> Dict[str, Tensor]:
        ...

    def predict_by_latent(self, latent: LatentBuffer,
                          global_feats: List[Tensor],
                          data_samples: list) -> list:
        ...

    def patch_encoder_modules(self) -> List[nn.Module]:
        ...

    def parse_losses(self, losses: Dict[str, Any]) -> Tuple[Tensor, dict]:
        ...
