"""Memory measurement and the budget planner: what mmpatch's figures and
its ``memory_budget`` rest on. Imports torch only (mmengine for the
planner's state restore)."""
from .meter import MemoryMeter
from .tensors import tensor_bytes
from .units import MIB, format_bytes, parse_bytes

__all__ = ['MemoryMeter', 'tensor_bytes', 'parse_bytes', 'format_bytes', 'MIB']
