"""Task-agnostic PatchGD machinery: grid, sampler, latent buffer, the
training step, and memory accounting. Imports torch and mmengine only."""
from .config import PatchGDConfig
from .grid import PatchGrid
from .latent import LatentBuffer
from .mapped import MappedBatch, MappedImage
from .patchgd import PatchGDMixin
from .sampler import PatchSampler, coverage, image_generator

__all__ = [
    'PatchGDConfig', 'PatchGrid', 'LatentBuffer', 'MappedBatch',
    'MappedImage', 'PatchGDMixin',
    'PatchSampler', 'coverage', 'image_generator'
]
