"""Utilities: weights-only checkpoint loading and the CLI helpers.

``mmpatch.utils.cli`` (used by ``tools/train.py`` and ``tools/test.py``) is
imported on demand, not here.
"""
from .safe_checkpoint import (UnsafeCheckpointError,
                              enable_safe_checkpoint_loading, safe_globals)

__all__ = [
    'UnsafeCheckpointError', 'enable_safe_checkpoint_loading', 'safe_globals'
]
