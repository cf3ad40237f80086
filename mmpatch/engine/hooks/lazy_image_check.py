"""LazyImageCheckHook: refuse pipelines that read pixels after
``LoadLazyImage``, before any data is loaded."""
from mmengine.hooks import Hook
from mmengine.registry import HOOKS


@HOOKS.register_module()
class LazyImageCheckHook(Hook):
    """Checks every ``pipeline`` of the config before the run starts.

    ``LoadLazyImage`` hands the pipeline a zero-channel stand-in of the
    image: a resize after it would crash OpenCV and a photometric
    transform would silently do nothing. This hook runs
    :func:`~mmpatch.datasets.lazy_image.check_lazy_config` on the whole
    config (train, val and test dataloaders, wrapped datasets, TTA) in
    ``before_run`` and stops with an error naming the pipeline's path and
    the fix. Configs without ``LoadLazyImage`` pass untouched.
    """

    priority = 'VERY_HIGH'

    def before_run(self, runner) -> None:
        from mmpatch.datasets.lazy_image import check_lazy_config
        check_lazy_config(runner.cfg.to_dict())
