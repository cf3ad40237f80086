"""mmengine hooks, one per job (registered in mmengine's root ``HOOKS``).

``configs/_base_/patchgd_runtime.py`` lists the ones every PatchGD config
wants (memory logging, the memory budget, the lazy-image check).
"""
from .latent_cache import LatentCacheHook
from .lazy_image_check import LazyImageCheckHook
from .memory_budget import BudgetExceededError, MemoryBudgetHook
from .memory_logger import MemoryLoggerHook
from .precise_bn import PatchPreciseBNHook
from .time_limit import TrainTimeLimitHook
from .train_clock import TrainClockHook

__all__ = [
    'MemoryLoggerHook', 'MemoryBudgetHook', 'BudgetExceededError',
    'LatentCacheHook', 'PatchPreciseBNHook', 'LazyImageCheckHook',
    'TrainTimeLimitHook', 'TrainClockHook'
]
