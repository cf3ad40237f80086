"""The PatchGD engine, task-agnostic: options, grid, latent buffer, sampler,
the batch layout, the training step and the adapter contract. Imports torch,
mmengine and mmpatch's bottom floor (``mmpatch.utils``, the pixel sources of
``mmpatch.datasets.pixels``) only.

See docs/method.md for the algorithm and its invariants.
"""
from .cache import HostLatentCache
from .config import PatchGDConfig
from .contract import PatchAdapter
from .grid import CellIndex, PatchGrid
from .latent import LatentBuffer
from .layout import Batch, encode_batch, lay_out
from .mixin import PatchGDMixin
from .phases import listen_to_phases, phase
from .plan import StepPlan, StepStats
from .sampler import PatchSampler, coverage, image_generator

__all__ = [
    'PatchGDConfig', 'StepPlan', 'StepStats', 'PatchGrid', 'CellIndex',
    'LatentBuffer', 'HostLatentCache', 'PatchAdapter', 'PatchGDMixin',
    'Batch', 'lay_out', 'encode_batch', 'PatchSampler', 'coverage',
    'image_generator', 'phase', 'listen_to_phases'
]
