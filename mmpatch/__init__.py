"""mmpatch: PatchGD + global patch for OpenMMLab (arXiv 2405.07166).

``import mmpatch`` is light: torch and mmengine only. It registers the hooks
in mmengine's ``HOOKS`` and the DDP wrapper in its ``MODEL_WRAPPERS``, and
allow-lists what mmengine checkpoints need for torch's weights-only loading. The task models register into their host
library when their module is imported, which a config does with e.g.::

    custom_imports = dict(imports=['mmpatch.models.detector'],
                          allow_failed_imports=False)

* ``mmpatch.models.segmentor``: ``PatchGlobalSegmentor`` (mmseg)
* ``mmpatch.models.detector``: ``PatchGlobalDetector`` (mmdet)
* ``mmpatch.models.classifier``: ``PatchGlobalClassifier`` (mmpretrain)
"""
from .utils.safe_checkpoint import enable_safe_checkpoint_loading
from .version import __version__

enable_safe_checkpoint_loading()

from .engine import distributed, hooks  # noqa: E402,F401  (registration)

__all__ = ['__version__', 'enable_safe_checkpoint_loading']
