"""LatentCacheHook: each sample's Z kept on the host between visits."""
from dataclasses import replace

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.registry import HOOKS

from mmpatch.patchgd import HostLatentCache, PatchGDMixin


@HOOKS.register_module()
class LatentCacheHook(Hook):
    """Gives a PatchGD model a :class:`~mmpatch.patchgd.HostLatentCache`.

    Each sample's Z is kept on the host between visits (keyed by
    ``img_path`` and its transform), so a visit with a fresh-enough entry
    skips the fill; every ``refresh_interval`` visits (epochs, for a sample
    seen once per epoch) it is filled again with the current weights. The
    cache reaches the model through its step plan and is saved in
    checkpoints (``checkpoint['latent_cache']``).

    Args:
        refresh_interval (int): visits per fill; 1 never reuses.
    """

    priority = 'NORMAL'

    def __init__(self, refresh_interval: int = 2) -> None:
        self.cache = HostLatentCache(refresh_interval)

    def before_train(self, runner) -> None:
        model = runner.model
        if is_model_wrapper(model):
            model = model.module
        if not isinstance(model, PatchGDMixin):
            raise TypeError(
                f'LatentCacheHook caches the latent buffer of mmpatch models; '
                f'{type(model).__name__} has none. Remove the hook from '
                'custom_hooks')
        model.set_step_plan(replace(model.step_plan, cache=self.cache))

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        checkpoint['latent_cache'] = self.cache.state_dict()

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        if 'latent_cache' in checkpoint:
            self.cache.load_state_dict(checkpoint['latent_cache'])
