"""The PatchGD engine, task-agnostic: options, grid, latent buffer, sampler,
the training step and the adapter contract. Imports torch and mmengine only.

See docs/method.md for the algorithm and its invariants.
"""
from .cache import HostLatentCache
from .config import PatchGDConfig
from .grid import CellIndex, PatchGrid
from .latent import LatentBuffer
from .mixin import PatchGDMixin
from .plan import StepPlan, StepStats
from .sampler import PatchSampler, coverage, image_generator

__all__ = [
    'PatchGDConfig', 'StepPlan', 'StepStats', 'PatchGrid', 'CellIndex',
    'LatentBuffer', 'HostLatentCache', 'PatchGDMixin', 'PatchSampler',
    'coverage', 'image_generator'
]
