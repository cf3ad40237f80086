"""The name of the hook that did five jobs before they were split."""
from mmengine.hooks import Hook
from mmengine.registry import HOOKS


@HOOKS.register_module()
class LatentBufferHook(Hook):
    """Removed: its jobs are five hooks now. Building it says which.

    ``configs/_base_/patchgd_runtime.py`` lists the defaults; inherit it
    (``_base_ = [..., 'path/to/configs/_base_/patchgd_runtime.py']``).
    """

    def __init__(self, **kwargs) -> None:
        replacements = dict(
            memory_budget="dict(type='MemoryBudgetHook', memory_budget=...)",
            latent_cache="dict(type='LatentCacheHook', refresh_interval=N)",
            precise_bn="dict(type='PatchPreciseBNHook', num_batches=N, "
            'interval=T)',
            log_memory="dict(type='MemoryLoggerHook') (drop it to stop "
            'logging)')
        asked = [replacements[k] for k in kwargs if k in replacements]
        raise ValueError(
            'LatentBufferHook was split into one hook per job: '
            "dict(type='MemoryLoggerHook') logs the memory of each "
            "iteration, dict(type='MemoryBudgetHook') plans and holds "
            "patch_cfg.memory_budget, dict(type='LazyImageCheckHook') checks "
            "LoadLazyImage pipelines, dict(type='LatentCacheHook', "
            "refresh_interval=N) caches Z, dict(type='PatchPreciseBNHook', "
            'num_batches=N, interval=T) recomputes BatchNorm statistics. '
            'Replace it in custom_hooks' +
            (f' (for your arguments: {"; ".join(asked)})' if asked else '') +
            ', or inherit configs/_base_/patchgd_runtime.py, which lists '
            'the first three.')
