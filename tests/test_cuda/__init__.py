"""CUDA tests (issue #21): marked ``cuda`` and skipped, with the reason
shown by ``pytest -rs``, where torch sees no GPU. They are part of the
normal suite; ``tools/device_check.sh`` runs them on a GPU machine
(``pytest -m cuda``)."""
import pytest
import torch

#: ``pytestmark = CUDA`` in each module of this package
CUDA = [
    pytest.mark.cuda,
    pytest.mark.skipif(
        not torch.cuda.is_available(),
        reason='CUDA test: torch.cuda.is_available() is False on this '
        'machine; tools/device_check.sh runs these on a GPU (pytest -m cuda)')
]
