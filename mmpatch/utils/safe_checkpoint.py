"""Weights-only checkpoint loading for mmengine checkpoints.

Since torch 2.6, ``torch.load`` defaults to ``weights_only=True``: the pickle
inside a checkpoint may only name an allow-list of globals, so that loading a
file cannot run arbitrary code. mmengine 0.10.7 calls ``torch.load(filename,
map_location=...)`` without ``weights_only`` (``load_from_local`` and the other
loaders in ``mmengine/runner/checkpoint.py``), so torch's safe default applies,
and the checkpoints mmengine's own ``Runner`` writes are refused::

    Weights only load failed ... Unsupported global:
    GLOBAL mmengine.logging.history_buffer.HistoryBuffer ...

The fix here keeps weights-only loading on (mmpatch never passes
``weights_only`` either, so torch's default and its documented environment
variables keep their meaning) and allow-lists exactly what
mmengine, mmdet, mmseg and mmpretrain checkpoints contain
(:func:`enable_safe_checkpoint_loading`). Setting
``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1`` would also "work", by turning the
protection off for every file; mmpatch never does that.

What a checkpoint written by a ``Runner`` with ``CheckpointHook`` holds
(found by saving real ones and listing their globals with
``torch.serialization.get_unsafe_globals_in_checkpoint``):

- ``state_dict``, ``optimizer`` (``AmpOptimWrapper`` adds ``loss_scaler``, a
  dict of numbers), ``param_schedulers``: tensors, numbers, lists, dicts,
  ``collections.Counter`` (``MultiStepLR.milestones``) -- all allowed by torch
  already -- except ``OneCycleLR``, whose state keeps the staticmethod
  ``anneal_func`` (every scheduler of mmengine, mmdet, mmseg and mmpretrain
  was checked);
- ``message_hub``: ``log_scalars`` are ``HistoryBuffer`` objects whose state
  is two numpy arrays and a dict of statistics functions
  (``HistoryBuffer.min`` ...), pickled as ``getattr(HistoryBuffer, 'min')``;
  ``runtime_info`` may hold numpy scalars (metric values such as mmseg's mIoU,
  ``best_score``);
- ``meta``: strings, numbers, ``seed``, ``dataset_meta`` (tuples, lists,
  dicts, sometimes numpy arrays).

Hence the allow-list, each entry with its reason:

``mmengine.logging.history_buffer.HistoryBuffer``
    the class of ``message_hub['log_scalars']`` values (NEWOBJ + BUILD). Its
    ``__setstate__`` stores the state and merges the saved statistics
    functions into the class-wide ``HistoryBuffer._statistics_methods``,
    which ``LoggerHook`` later calls: one more reason the ``getattr`` below
    resolves nothing but HistoryBuffer's own statistics methods.
``builtins.getattr``, mapped to :func:`_restricted_getattr`, *not* to the real
``getattr``
    protocol-2 pickles name a staticmethod / function defined in a class as
    ``getattr(Class, 'name')``. The stand-in only resolves
    ``HistoryBuffer.{min,max,current,mean}`` (``HistoryBuffer``'s statistics
    methods) and ``OneCycleParamScheduler._annealing_{cos,linear}``
    (``OneCycleLR``'s ``anneal_func``) and refuses everything else, so a file
    cannot reach arbitrary attributes through it. (Whoever allow-lists the
    real ``getattr`` in the same process would clash with this entry; don't.)
``mmengine.optim.scheduler.param_scheduler.OneCycleParamScheduler``, mapped to
an inert reference
    only needed as the first argument of the ``getattr`` above; the class
    itself is not allow-listed, so a file can neither instantiate nor call it.
``numpy._core.multiarray._reconstruct`` and ``numpy.core.multiarray._reconstruct``
    how numpy >= 2 and numpy 1.x pickle an ``ndarray`` (both names, so
    checkpoints written under either numpy load).
``numpy.ndarray``
    the class passed to ``_reconstruct`` (and BUILD's target).
``numpy.dtype`` and the concrete dtype classes (``numpy.dtypes.Float64DType``
...: bool, signed/unsigned integers, floats, complex, str, bytes)
    ``numpy.dtype('f8', False, True)`` rebuilds a dtype, whose BUILD step
    needs its concrete class allow-listed. Object and structured (void) dtypes
    are deliberately left out.
``numpy._core.multiarray.scalar`` and ``numpy.core.multiarray.scalar``
    how numpy scalars (``np.float64(0.5)``) are pickled.

Everything else a checkpoint may name is refused. A refused local file raises
:class:`UnsafeCheckpointError` (a ``pickle.UnpicklingError``) naming the file,
the offending global and what to do if the file is trusted; that wrapping is
done by a loader for local paths registered through mmengine's documented
extension point, ``CheckpointLoader.register_scheme(prefixes='', ...,
force=True)``. It delegates to mmengine's own ``load_from_local`` and only
rewrites the error. Other schemes (``http://``, ``open-mmlab://`` ...) keep
mmengine's loaders, and torch's own message (which names the global but not
the file; mmengine logs the path just before).
"""
import os.path as osp
import pickle
import re
from typing import Any, Callable, List, Tuple, Union

import numpy as np
import torch
from mmengine.logging.history_buffer import HistoryBuffer
from mmengine.optim.scheduler.param_scheduler import OneCycleParamScheduler
from mmengine.runner.checkpoint import CheckpointLoader
from mmengine.runner.checkpoint import \
    load_from_local as _mmengine_load_from_local

__all__ = [
    'UnsafeCheckpointError', 'enable_safe_checkpoint_loading',
    'safe_globals'
]

_ENABLED = False


class UnsafeCheckpointError(pickle.UnpicklingError):
    """A checkpoint names a global that weights-only loading does not allow.

    A subclass of ``pickle.UnpicklingError`` (what ``torch.load`` raises), so
    code catching torch's error keeps working.
    """


class _ClassRef:
    """Inert stand-in for a class a pickle names only to ``getattr`` on it.

    It is what the allow-list maps the class's name to, so the real class is
    never handed to the unpickler (which would let a file call it).
    """

    def __init__(self, cls: type):
        self.cls = cls

    def __call__(self, *args, **kwargs):
        raise pickle.UnpicklingError(
            f'weights-only load: {self.cls.__module__}.'
            f'{self.cls.__qualname__} may not be called or instantiated')

    def __repr__(self) -> str:
        return f'<reference to {self.cls.__module__}.{self.cls.__qualname__}>'


# class -> attributes a checkpoint may look up on it with `getattr`
_GETATTR_ALLOWED = {
    # HistoryBuffer.__getstate__ saves `statistics_methods`; these are the
    # defaults registered by HistoryBuffer._set_default_statistics.
    HistoryBuffer: frozenset({'min', 'max', 'current', 'mean'}),
    # OneCycleParamScheduler.anneal_func (state_dict keeps every attribute).
    OneCycleParamScheduler: frozenset({'_annealing_cos', '_annealing_linear'}),
}


def _restricted_getattr(obj: Any, name: Any) -> Any:
    """What ``builtins.getattr`` means inside a weights-only load.

    Resolves only the attributes in ``_GETATTR_ALLOWED``; anything else is
    refused, so a checkpoint cannot walk to arbitrary objects.
    """
    cls = obj.cls if isinstance(obj, _ClassRef) else obj
    if (isinstance(cls, type) and isinstance(name, str)
            and name in _GETATTR_ALLOWED.get(cls, ())):
        return getattr(cls, name)
    raise pickle.UnpicklingError(
        f'weights-only load: getattr({obj!r}, {name!r}) is not allowed '
        '(mmpatch only allows '
        + ', '.join(f'{c.__qualname__}.{n}'
                    for c, names in _GETATTR_ALLOWED.items()
                    for n in sorted(names)) + ')')


def _numpy_multiarray():
    try:  # numpy >= 2 (numpy 1.26 has the alias as well)
        from numpy._core import multiarray
    except ImportError:  # pragma: no cover - older numpy
        from numpy.core import multiarray
    return multiarray


def _numpy_dtype_classes() -> List[type]:
    # bool, signed and unsigned integers of every width, half/single/double/
    # long double, complex, str and bytes; `type(np.dtype(c))` works from
    # numpy 1.20 on (numpy.dtypes.* from 1.25 are the same classes).
    codes = '?bBhHiIlLqQefdgFDGUS'
    return sorted({type(np.dtype(c)) for c in codes}, key=lambda t: t.__name__)


def safe_globals() -> List[Union[Callable, Tuple[Any, str]]]:
    """The entries :func:`enable_safe_checkpoint_loading` allow-lists.

    In the form ``torch.serialization.add_safe_globals`` takes: an object
    (registered under its ``__module__.__qualname__``) or ``(object,
    'full.name')`` where the name a pickle uses differs. See the module
    docstring for why each is there.
    """
    multiarray = _numpy_multiarray()
    one_cycle = OneCycleParamScheduler
    return [
        HistoryBuffer,
        (_restricted_getattr, 'builtins.getattr'),
        (_ClassRef(one_cycle), f'{one_cycle.__module__}.{one_cycle.__name__}'),
        (multiarray._reconstruct, 'numpy._core.multiarray._reconstruct'),
        (multiarray._reconstruct, 'numpy.core.multiarray._reconstruct'),
        (multiarray.scalar, 'numpy._core.multiarray.scalar'),
        (multiarray.scalar, 'numpy.core.multiarray.scalar'),
        (np.ndarray, 'numpy.ndarray'),
        (np.dtype, 'numpy.dtype'),
        *_numpy_dtype_classes(),
    ]


_GLOBAL_RE = re.compile(r'GLOBAL (\S+) was not an allowed global')
_ANSI_RE = re.compile(r'\x1b\[[0-9;]*m')


def _refusal_message(filename: str, err: Exception) -> str:
    torch_msg = _ANSI_RE.sub('', str(err))
    # torch wraps the unpickler's reason in paragraphs of advice; keep the
    # reason (the whole message stays available as the exception's cause)
    reason = torch_msg.split('WeightsUnpickler error:', 1)[-1]
    reason = reason.split('Check the documentation of torch.load')[0].strip()
    match = _GLOBAL_RE.search(torch_msg)
    if match:
        what = f'the global `{match.group(1)}` in it'
        fixes = ('allow the global with `torch.serialization.add_safe_globals'
                 f'([{match.group(1)}])` before loading it, or ')
    else:
        what = 'what its pickle does'
        fixes = ''
    return (
        f'Refused to load the checkpoint {filename!r}: weights-only loading '
        f'(torch.load(weights_only=True), the default since torch 2.6) does '
        f'not allow {what}; unpickling it could run arbitrary code. mmpatch '
        'allow-lists only what mmengine, mmdet, mmseg and mmpretrain '
        'checkpoints need (mmpatch.utils.safe_checkpoint). If, and only if, '
        f'you trust this file: {fixes}load it yourself with `torch.load(path, '
        "weights_only=False)` and save what you need (e.g. its 'state_dict') "
        'to a new file.\n'
        f'Unpickler: {reason}')


def load_from_local(filename: str, map_location=None):
    """mmengine's local loader, with a clear error for refused files.

    Named like mmengine's so that ``CheckpointLoader`` still logs "Loads
    checkpoint by local backend".
    """
    try:
        return _mmengine_load_from_local(filename, map_location)
    except pickle.UnpicklingError as err:
        if isinstance(err, UnsafeCheckpointError):
            raise
        raise UnsafeCheckpointError(
            _refusal_message(osp.expanduser(filename), err)) from err


def enable_safe_checkpoint_loading() -> None:
    """Let mmengine load its checkpoints with ``weights_only=True``.

    Allow-lists :func:`safe_globals` with
    ``torch.serialization.add_safe_globals`` (process-wide) and registers
    :func:`load_from_local` for local paths. Idempotent; weights-only loading
    stays on.
    """
    global _ENABLED
    if _ENABLED:
        return
    torch.serialization.add_safe_globals(safe_globals())
    CheckpointLoader.register_scheme(
        prefixes='', loader=load_from_local, force=True)
    _ENABLED = True
