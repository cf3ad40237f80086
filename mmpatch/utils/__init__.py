"""Utilities: weights-only checkpoint loading, memory sizes as text and
the CLI helpers.

The bottom floor of ``mmpatch``: nothing here imports another ``mmpatch``
package, so every package may import it. ``mmpatch.utils.cli`` (used by
``tools/train.py`` and ``tools/test.py``) is imported on demand, not here;
``mmpatch.utils.units`` is exported by ``mmpatch.memory``.
"""
from .safe_checkpoint import (UnsafeCheckpointError,
                              enable_safe_checkpoint_loading, safe_globals)

__all__ = [
    'UnsafeCheckpointError', 'enable_safe_checkpoint_loading', 'safe_globals'
]
