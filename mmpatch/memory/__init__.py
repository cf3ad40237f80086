"""Memory measurement and the budget planner: what mmpatch's figures and
its ``memory_budget`` rest on. Imports torch and ``mmpatch.utils`` only
(mmengine for the planner's state restore). ``MIB``, ``format_bytes`` and
``parse_bytes`` live in :mod:`mmpatch.utils.units`."""
from mmpatch.utils.units import MIB, format_bytes, parse_bytes
from .meter import MemoryMeter
from .tensors import tensor_bytes

__all__ = ['MemoryMeter', 'tensor_bytes', 'parse_bytes', 'format_bytes', 'MIB']
