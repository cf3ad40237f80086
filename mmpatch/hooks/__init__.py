"""mmengine hooks (registered in mmengine's HOOKS)."""
from .latent_buffer_hook import LatentBufferHook
from .time_limit_hook import TrainTimeLimitHook

__all__ = ['LatentBufferHook', 'TrainTimeLimitHook']
