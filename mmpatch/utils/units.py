"""Memory sizes as text: ``'4G'`` <-> bytes (binary units)."""
import math
import re
from decimal import Decimal, InvalidOperation
from typing import Union

__all__ = ['parse_bytes', 'format_bytes', 'MIB']

#: one MiB, the unit every mmpatch memory figure is given in
MIB = 2**20

_UNITS = {
    '': 0,
    'b': 0,
    'k': 1,
    'kb': 1,
    'kib': 1,
    'm': 2,
    'mb': 2,
    'mib': 2,
    'g': 3,
    'gb': 3,
    'gib': 3,
    't': 4,
    'tb': 4,
    'tib': 4,
}
_BYTES_RE = re.compile(r'^\s*([0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*([a-zA-Z]*)\s*$')
_ACCEPTED = ("a non-negative number of bytes (e.g. 1024) or a string such as "
             "'1024', '512K', '512M', '512MB', '1.5G', '4GiB', '2T'; "
             'units are binary (K=2**10, M=2**20, G=2**30, T=2**40) and '
             'case-insensitive; B, KB/KiB, MB/MiB, GB/GiB, TB/TiB are '
             'accepted')


def parse_bytes(value: Union[str, int, float]) -> int:
    """Parse a memory size into a number of bytes.

    Units are binary whatever their spelling: ``'4G'``, ``'4GB'`` and
    ``'4GiB'`` all mean ``4 * 2**30``. A number without a unit (or a plain
    ``int``/``float``) is a number of bytes. Fractional results are rounded
    down to whole bytes.

    Args:
        value (str | int | float): e.g. ``'4G'``, ``'512 MiB'``, ``'1.5g'``,
            ``1024``.

    Returns:
        int: The number of bytes.

    Raises:
        ValueError: If ``value`` is negative, not finite, a bool, or a string
            that is not a number followed by an optional known unit. The
            message names the value and the accepted forms.
    """
    if isinstance(value, bool):
        raise ValueError(f'Invalid memory size {value!r}: expected '
                         f'{_ACCEPTED}.')
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f'Invalid memory size {value!r}: it is '
                             f'negative; expected {_ACCEPTED}.')
        return value
    if isinstance(value, float):
        if not math.isfinite(value) or value < 0:
            raise ValueError(f'Invalid memory size {value!r}: expected '
                             f'{_ACCEPTED}.')
        return int(value)
    if not isinstance(value, str):
        raise ValueError(f'Invalid memory size {value!r} of type '
                         f'{type(value).__name__}: expected {_ACCEPTED}.')
    match = _BYTES_RE.match(value)
    unit = match.group(2).lower() if match else None
    if match is None or unit not in _UNITS:
        raise ValueError(f'Invalid memory size {value!r}: expected '
                         f'{_ACCEPTED}.')
    try:
        number = Decimal(match.group(1))
    except InvalidOperation:  # pragma: no cover - the regex prevents it
        raise ValueError(f'Invalid memory size {value!r}: expected '
                         f'{_ACCEPTED}.') from None
    return int(number * (1024**_UNITS[unit]))


def format_bytes(num_bytes: Union[int, float]) -> str:
    """Format a number of bytes with a binary unit.

    Args:
        num_bytes (int | float): A number of bytes, may be negative (e.g. a
            memory delta).

    Returns:
        str: ``'512 B'``, ``'1.50 KiB'``, ``'30.00 MiB'``, ``'4.00 GiB'``,
        ``'-2.00 MiB'``... The result parses back with :func:`parse_bytes`
        (to within the 2-decimal rounding) when it is not negative.
    """
    sign = '-' if num_bytes < 0 else ''
    size = abs(num_bytes)
    if size < 1024:
        return f'{sign}{int(size)} B'
    for unit in ('KiB', 'MiB', 'GiB', 'TiB'):
        size /= 1024.0
        if size < 1024 or unit == 'TiB':
            break
    return f'{sign}{size:.2f} {unit}'
