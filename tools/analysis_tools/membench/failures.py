"""How a measurement failed: out of memory, or another error.

Shared by the parent (a subprocess's exit) and the child (an exception in
a guarded stage). An allocation failure is ``'oom'``; anything else is
``'error: <message>'``.
"""
import re
import signal
from typing import Any, Dict, Optional

# what an out-of-memory failure says, whichever allocator raised it
OOM_PATTERNS = (
    "can't allocate memory",
    'defaultcpuallocator',
    'cannot allocate memory',
    'out of memory',
    'outofmemoryerror',
    'memoryerror',
    'bad_alloc',
    'failed to map segment',
)
_ASKED_RE = re.compile(r'(?:allocate|tried to allocate)\s+([0-9]+)\s*bytes',
                       re.IGNORECASE)
_ASKED_UNIT_RE = re.compile(
    r'tried to allocate\s+([0-9.]+)\s*(B|KiB|MiB|GiB|TiB)', re.IGNORECASE)
_UNIT = {'b': 1, 'kib': 2**10, 'mib': 2**20, 'gib': 2**30, 'tib': 2**40}


def one_line(text: str, limit: int = 300) -> str:
    """``text`` on one line, cut to ``limit`` characters."""
    text = ' '.join(str(text).split())
    return text if len(text) <= limit else text[:limit - 3] + '...'


def is_oom_text(text: str) -> bool:
    """Whether an error message or log describes an allocation failure."""
    low = (text or '').lower()
    return any(p in low for p in OOM_PATTERNS)


def classify_exception(exc: BaseException) -> str:
    """``'oom'`` for an allocation failure, else ``'error: <message>'``."""
    if isinstance(exc, MemoryError):
        return 'oom'
    text = f'{type(exc).__name__}: {exc}'
    if is_oom_text(text):
        return 'oom'
    return 'error: ' + one_line(text)


def asked_bytes(text: str) -> Optional[int]:
    """Bytes an allocator said it failed to allocate, if it said so."""
    match = _ASKED_RE.search(text or '')
    if match:
        return int(match.group(1))
    match = _ASKED_UNIT_RE.search(text or '')
    if match:
        return int(float(match.group(1)) * _UNIT[match.group(2).lower()])
    return None


def classify_exit(returncode: int, result: Optional[dict],
                  log_tail: str, timed_out: bool = False) -> Dict[str, Any]:
    """The status of a subprocess from its exit and what it reported.

    Args:
        returncode: the subprocess's exit status (negative: killed by that
            signal).
        result: what the subprocess wrote (possibly partial), or None.
        log_tail: the end of its stdout and stderr.
        timed_out: whether the parent killed it at ``--timeout``.

    Returns:
        dict: ``status`` and ``detail`` (plus whatever ``result`` had).
    """
    out = dict(result or {})
    stage = out.pop('stage', None)
    where = f' during {stage}' if stage and stage != 'done' else ''
    if timed_out:
        out['status'] = f'error: timed out{where}'
        out['detail'] = out.get('detail') or 'killed at --timeout'
        return out
    if stage == 'done':  # the subprocess reported in full
        if returncode != 0:
            out['exit_status'] = returncode
        return out
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = str(-returncode)
        out['status'] = 'oom'
        out['detail'] = f'killed by signal {name}{where}'
        _mark_stage(out, stage, 'oom')
        return out
    if returncode == 0 and result is None:
        out['status'] = 'error: the subprocess wrote no result'
        out['detail'] = log_tail[-2000:]
        return out
    # a non-zero exit without a final report: crashed before or outside the
    # guarded stages (e.g. importing libraries under a tiny address space)
    last = _last_error_line(log_tail)
    if is_oom_text(log_tail):
        out['status'] = 'oom'
    else:
        out['status'] = 'error: ' + (last or f'exit status {returncode}')
    out['detail'] = (last or '') + where
    _mark_stage(out, stage, out['status'])
    return out


def _mark_stage(out: dict, stage: Optional[str], status: str) -> None:
    if stage in ('train', 'warmup', 'plan'):
        out.setdefault('train_status', status)
    elif stage == 'infer':
        out.setdefault('infer_status', status)


def _last_error_line(text: str) -> str:
    lines = [ln.strip() for ln in (text or '').splitlines() if ln.strip()]
    for line in reversed(lines):
        if re.match(r'^[A-Za-z_.]*(Error|Exception|Killed)\b', line) or \
                'error' in line.lower():
            return one_line(line)
    return one_line(lines[-1]) if lines else ''
