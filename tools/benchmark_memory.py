"""Peak memory and time of one training step and one inference, PatchGD
against a baseline, for several image sizes.

    python tools/benchmark_memory.py CONFIG --sizes 1024 2048 4096
        [--baseline full|downsampled|none] [--baseline-config CONFIG]
        [--json OUT.json] [--plot OUT.png] [--steps N] [--batch-size B]
        [--memory-limit 20G] [--budget 2G] [--timeout S] [--breakdown]
        [--device cpu|cuda] [--threads T] [--seed S] [--log-dir DIR]
        [--image-source memory|mapped] [--cfg-options k=v ...]

``--baseline`` defaults to ``full`` when ``--baseline-config`` is given,
else to ``none`` (ours only). For timings, use ``--steps 3`` (below).

Every (method, size) pair runs in a fresh subprocess (this script in its
hidden ``--one`` mode), so one run cannot inherit another's memory and a
baseline that does not fit is recorded with ``status: "oom"`` instead of
ending the benchmark. In the subprocess:

1. the config is loaded (``--cfg-options`` applied), its ``custom_imports``
   imported and its ``default_scope`` (mmdet, mmseg or mmpretrain) entered;
   pretrained ``init_cfg``s that name a URL or a missing file are dropped,
   so nothing is downloaded;
2. the model, its ``OptimWrapper`` (``cfg.optim_wrapper``) and a synthetic
   batch of ``--batch-size`` uint8 images of side ``size`` are built: a few
   random boxes (mmdet), a random mask (mmseg) or a label (mmpretrain);
   with ``--image-source mapped``, ours reads its images as
   ``LoadLazyImage`` pipelines give them: each image is written to an
   ``.npy`` file and the batch holds zero-channel stand-ins, so the data
   preprocessor makes a ``MappedBatch`` and the pixels are read patch by
   patch (the baseline always holds its images: it needs them whole);
3. with ``--steps N`` > 1, one warm-up step (it creates the optimizer
   state); then one training step is measured (peak and time); with
   ``N`` > 2, ``N - 2`` more steps are timed without the meter and
   ``step_s`` is their median (``timed_with_meter: false``): the CPU
   meter's per-operator bookkeeping (about 20 us an operator, +50% at
   256 px, little at large sizes) is then out of the time;
4. one inference (``val_step`` in eval mode under ``torch.no_grad``) is
   measured, with ``track=[model, batch]`` (no optimizer state) (and, with
   ``N`` > 2, timed once more without the meter);
5. with ``--breakdown``, one more training step and one more inference are
   run with the peak split by phase (below).

Peaks come from :class:`mmpatch.engine.memory.MemoryMeter` with
``track=[model, optim_wrapper, batch]``: absolute bytes of live tensors
(weights, gradients, optimizer state and the batch included), on CPU counted
by the dispatch tracker, on CUDA by ``torch.cuda.max_memory_allocated``
(docs/memory.md). Process RSS is reported for information only
(``rss_peak_mb``, the subprocess's ``ru_maxrss``, which includes the
interpreter, libraries and allocator caches).

Methods:

* ``ours``: CONFIG as given (a PatchGD model);
* the baseline: ``--baseline-config`` if given, otherwise the same network
  as the host library's stock model: ``model.type`` set to ``FCOS`` (any
  other single-stage head: ``SingleStageDetector``), ``EncoderDecoder`` or
  ``ImageClassifier`` and the PatchGD-only keys removed. ``full`` runs it
  on the whole image; ``downsampled`` on the image resized to the patch
  size of CONFIG (the record keeps the original ``size`` and gives
  ``input_size``).

The memory limit (``--memory-limit``, default 20G) is imposed on CPU with
``RLIMIT_AS`` in the subprocess: it caps the process's *address space*,
which also holds the interpreter and libraries (``vm_setup_mb``: about
4.1 GiB of mostly untouched mappings with torch and mmdet loaded), so the
tensors get about 4 GiB less than the limit. On CUDA the limit is
``torch.cuda.set_per_process_memory_fraction``. A ``MemoryError``, an
allocator error ("can't allocate memory", ``DefaultCPUAllocator``, CUDA
"out of memory", ``std::bad_alloc``) or a subprocess killed by a signal is
``status: "oom"``, with ``min_needed_train_mb`` (live bytes at the failure
plus the bytes asked for: a lower bound of the step's need) when the
allocator said how much it asked for. Any other failure is
``status: "error: <message>"``, printed with the subprocess's log tail.
``--budget`` marks records whose training or inference peak exceeds it
with ``over_budget: true`` (a record with a missing peak, e.g. oom:
``true`` when its lower bound exceeds the budget, else ``null``).

``--breakdown`` splits the peak of a PatchGD step by phase
(``breakdown.train.peak_mb``: the absolute peak reached while each phase
ran, the largest over its calls; ``breakdown.train.s``: its wall time,
summed over calls, meter overhead included):
``preprocess`` (data preprocessor), ``fill`` (Z without gradients),
``patch_encode`` (θ1 on the k sampled patches, with gradients),
``scatter``, ``global`` (θ1 on the global patch), ``head_loss`` (fusion,
θ2 and the task head and loss on the whole-image maps), ``backward``,
``optim_step`` and ``other``; for the stock baseline ``preprocess``,
``forward_loss``, ``backward``, ``optim_step``; for inference ``fill``,
``global``, ``head_predict`` (or ``predict``).

Records (a JSON list, rewritten after every subprocess): ``method``,
``task``, ``size``, ``patch``, ``k``, ``peak_train_mb``, ``peak_infer_mb``,
``step_s``, ``infer_s``, ``status``, ``image_source``, ``latent_mb``,
``memory_method``, ``config``, and ``model``, ``input_size``, ``grid``, ``batch_size``,
``device``, ``fixed_mb`` (weights + gradients + optimizer state + batch at
the start of the measured step), ``fill_s``, ``step_cpu_s`` and
``infer_cpu_s`` (process CPU time, all threads: steadier than wall time on
a busy machine), ``vm_setup_mb`` (the subprocess's address space once the
model, optimizer and batch are built: ``--memory-limit`` less this is what
the step can use), ``timed_with_meter``, ``warmup_s`` and ``warmup_peak_mb``
(the first step: no optimizer state yet, so its peak is lower with SGD
momentum or Adam), ``threads``, ``rss_peak_mb``,
``train_status``, ``infer_status``, ``memory_limit_mb``, ``plan`` (when
``patches_per_iter='auto'``), ``breakdown``, ``detail``, ``over_budget``.
MiB are 2**20 bytes.
"""
import argparse
import copy
import gc
import json
import os
import os.path as osp
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from typing import Any, Dict, List, Optional

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
if REPO not in sys.path:
    sys.path.insert(0, REPO)

MIB = 2**20

#: host library -> (task, stock model type of a PatchGD model's baseline)
SCOPES = {
    'mmdet': 'det',
    'mmseg': 'seg',
    'mmpretrain': 'cls',
}
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


# =========================================================================
# classification of failures (shared by the parent and the child)
# =========================================================================
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
    return 'error: ' + _one_line(text)


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
            return _one_line(line)
    return _one_line(lines[-1]) if lines else ''


def _one_line(text: str, limit: int = 300) -> str:
    text = ' '.join(str(text).split())
    return text if len(text) <= limit else text[:limit - 3] + '...'


# =========================================================================
# the child: build, measure, report
# =========================================================================
def _write_json(path: str, obj: Any) -> None:
    tmp = path + '.tmp'
    with open(tmp, 'w') as f:
        json.dump(obj, f, indent=1)
    os.replace(tmp, path)


def _scrub_downloads(obj: Any) -> None:
    """Drop pretrained weights that would be downloaded or are missing."""
    if isinstance(obj, dict):
        init = obj.get('init_cfg')
        for item in (init if isinstance(init, list) else [init]):
            if isinstance(item, dict) and item.get('type') == 'Pretrained':
                ckpt = str(item.get('checkpoint', ''))
                if not osp.isfile(ckpt):
                    obj['init_cfg'] = None
                    break
        if isinstance(obj.get('pretrained'), str) and not osp.isfile(
                obj['pretrained']):
            obj['pretrained'] = None
        for value in obj.values():
            _scrub_downloads(value)
    elif isinstance(obj, (list, tuple)):
        for value in obj:
            _scrub_downloads(value)


def stock_model_cfg(model_cfg: dict) -> dict:
    """The host library's stock model for a PatchGD model config
    (:meth:`PatchGDMixin.host_model_cfg` of the config's model class)."""
    cls = patchgd_class(model_cfg.get('type'))
    if cls is None:
        return copy.deepcopy(model_cfg)  # already a stock model
    return cls.host_model_cfg(model_cfg)


def patchgd_class(name):
    """The PatchGD model class registered as ``name``, or None."""
    import importlib
    from mmpatch.patchgd import PatchGDMixin
    for module, scope in (('detector', 'mmdet'), ('segmentor', 'mmseg'),
                          ('classifier', 'mmpretrain')):
        importlib.import_module(f'mmpatch.models.{module}')
        registry = importlib.import_module(f'{scope}.registry').MODELS
        cls = registry.get(name) if isinstance(name, str) else None
        if isinstance(cls, type) and issubclass(cls, PatchGDMixin):
            return cls
    return None


def _fix_classifier_head(model_cfg: dict, registry, patch: int) -> None:
    """A stock classifier's head reads the pooled backbone features, whose
    width differs from the PatchGD grid head's: probe it."""
    import torch
    backbone = registry.build(copy.deepcopy(model_cfg['backbone']))
    neck = registry.build(copy.deepcopy(model_cfg['neck']))
    backbone.eval()
    with torch.no_grad():
        feats = neck(backbone(torch.zeros(1, 3, patch, patch)))
    vec = feats[-1] if isinstance(feats, (list, tuple)) else feats
    model_cfg['head']['in_channels'] = int(vec.flatten(1).shape[1])


def _num_classes(model_cfg: dict, task: str) -> int:
    key = dict(det='bbox_head', seg='decode_head', cls='head')[task]
    return int((model_cfg.get(key) or {}).get('num_classes', 2) or 2)


def _patch_size(model_cfg: dict) -> Optional[int]:
    patch = (model_cfg.get('patch_cfg') or {}).get('patch_size')
    if patch is None:
        if patchgd_class(model_cfg.get('type')) is not None:
            return 256  # PatchGDConfig's default
        return None
    return int(patch if isinstance(patch, int) else patch[0])


def make_batch(task: str, size: int, input_size: int, batch_size: int,
               num_classes: int, seed: int = 0,
               mapped_dir: Optional[str] = None) -> dict:
    """A synthetic batch as the data pipeline packs it: uint8 ``(3, h, w)``
    images and the task's data samples. ``size`` is the original side,
    ``input_size`` the side fed to the model (smaller when downsampled).

    With ``mapped_dir``, as ``LoadLazyImage`` packs it instead: each image
    is saved there as an ``(h, w, 3)`` ``.npy`` file, named by the data
    sample's ``lazy_image``, and the batch holds ``(0, h, w)`` stand-ins.
    """
    import numpy as np
    import torch
    gen = torch.Generator().manual_seed(seed)
    scale = input_size / size
    inputs, samples = [], []
    for i in range(batch_size):
        img = torch.randint(0, 256, (3, input_size, input_size),
                            dtype=torch.uint8, generator=gen)
        lazy = {}
        if mapped_dir is not None:
            lazy['lazy_image'] = osp.join(mapped_dir, f'image_{i}.npy')
            np.save(lazy['lazy_image'], img.permute(1, 2, 0).numpy())
            img = img.new_empty((0, input_size, input_size))
        meta = dict(
            img_path=f'synthetic_{size}_{i}.png',
            img_id=i,
            img_shape=(input_size, input_size),
            ori_shape=(size, size),
            scale_factor=(scale, scale),
            flip=False,
            flip_direction=None,
            **lazy)
        if task == 'det':
            from mmdet.structures import DetDataSample
            from mmengine.structures import InstanceData
            n = 5
            lo, hi = max(8.0, size / 64), max(16.0, size / 8)
            wh = lo + torch.rand(n, 2, generator=gen) * (hi - lo)
            xy = torch.rand(n, 2, generator=gen) * (size - wh)
            boxes = torch.cat([xy, xy + wh], 1) * scale
            sample = DetDataSample(metainfo=meta)
            sample.gt_instances = InstanceData(
                bboxes=boxes,
                labels=torch.randint(0, num_classes, (n, ), generator=gen))
            sample.ignored_instances = InstanceData(
                bboxes=torch.zeros(0, 4), labels=torch.zeros(0).long())
        elif task == 'seg':
            from mmengine.structures import PixelData
            from mmseg.structures import SegDataSample
            meta.update(pad_shape=(input_size, input_size),
                        reduce_zero_label=False)
            cells = max(1, input_size // 32)
            mask = torch.randint(0, num_classes, (cells, cells),
                                 generator=gen)
            mask = mask.repeat_interleave(32, 0).repeat_interleave(32, 1)
            mask = mask[:input_size, :input_size]
            if mask.shape[0] < input_size:
                mask = torch.nn.functional.pad(
                    mask, (0, input_size - mask.shape[1], 0,
                           input_size - mask.shape[0]))
            sample = SegDataSample(metainfo=meta)
            sample.gt_sem_seg = PixelData(data=mask[None].long())
        else:
            from mmpretrain.structures import DataSample
            sample = DataSample(metainfo=meta).set_gt_label(
                int(torch.randint(0, num_classes, (1, ), generator=gen)))
        inputs.append(img)
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


class PhaseRecorder:
    """Splits a running :class:`MemoryMeter`'s peak by phase.

    At each phase boundary the meter's peak since the last boundary is
    credited to the phase that just ended (``'other'`` between phases) and
    the meter is reset to the present (live bytes stay counted, so peaks
    stay absolute). Nested phases are credited to the outermost one.
    """

    def __init__(self, meter) -> None:
        self.meter = meter
        self.peaks: Dict[str, int] = {}
        self.seconds: Dict[str, float] = {}
        self.calls: Dict[str, int] = {}
        self.stack: List[Optional[str]] = []
        self._patched: List[tuple] = []
        self._since = time.perf_counter()

    def _close(self, name: str) -> None:
        peak = self.meter.peak_bytes
        self.peaks[name] = max(self.peaks.get(name, 0), peak)
        now = time.perf_counter()
        self.seconds[name] = self.seconds.get(name, 0.0) + now - self._since
        self.meter.reset()
        self._since = time.perf_counter()

    def enter(self, name: str) -> None:
        if self.stack:
            self.stack.append(None)
            return
        self._close('other')
        self.stack.append(name)
        self.calls[name] = self.calls.get(name, 0) + 1

    def exit(self) -> None:
        name = self.stack.pop()
        if name is not None:
            self._close(name)

    def finish(self) -> Dict[str, Dict[str, float]]:
        """``{'peak_mb': {phase: MiB}, 's': {phase: seconds, summed over
        calls}}``; the meter stays running."""
        self._close('other')
        self.restore()
        return {
            'peak_mb': {k: round(v / MIB, 2)
                        for k, v in self.peaks.items()},
            's': {k: round(v, 3)
                  for k, v in self.seconds.items()},
        }

    def wrap(self, owner: Any, attr: str, name: str, when=None) -> None:
        """Make ``owner.attr`` (a method of an instance, or of a class) a
        phase; ``when()`` False leaves a call out."""
        had = attr in vars(owner)
        saved = vars(owner).get(attr)
        original = getattr(owner, attr)
        recorder = self

        def wrapped(*args, **kwargs):
            if when is not None and not when():
                return original(*args, **kwargs)
            recorder.enter(name)
            try:
                return original(*args, **kwargs)
            finally:
                recorder.exit()

        self._patched.append((owner, attr, had, saved))
        setattr(owner, attr, wrapped)

    def restore(self) -> None:
        for owner, attr, had, original in reversed(self._patched):
            if had:
                setattr(owner, attr, original)
            else:
                delattr(owner, attr)
        self._patched.clear()


def _phase_wrappers(recorder: PhaseRecorder, model, optim_wrapper,
                    training: bool) -> None:
    import torch
    from mmpatch.patchgd import PatchGDMixin
    patchgd = isinstance(model, PatchGDMixin)
    if training:
        recorder.wrap(model.data_preprocessor, 'forward', 'preprocess')
    if patchgd:
        from mmpatch.patchgd import LatentBuffer
        recorder.wrap(model, 'fill_latent', 'fill')
        recorder.wrap(model, 'global_features', 'global')
        recorder.wrap(model, 'encode_patches', 'patch_encode',
                      when=torch.is_grad_enabled)
        recorder.wrap(LatentBuffer, 'scatter_', 'scatter')
        recorder.wrap(model, 'loss_by_latent', 'head_loss')
        recorder.wrap(model, 'predict_by_latent', 'head_predict')
    elif training:
        recorder.wrap(model, 'loss', 'forward_loss')
    else:
        recorder.wrap(model, 'predict', 'predict')
    if training:
        recorder.wrap(optim_wrapper, 'backward', 'backward')
        recorder.wrap(optim_wrapper, 'step', 'optim_step')


def _sync(device) -> None:
    import torch
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


def _vm_size_mb() -> Optional[float]:
    """The process's address space now (what RLIMIT_AS caps), MiB."""
    try:
        with open('/proc/self/status') as f:
            for line in f:
                if line.startswith('VmSize:'):
                    return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return None


def _rss_peak_mb() -> float:
    import resource
    # Linux reports KiB
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                 1)


def run_one(spec: dict) -> None:
    """The ``--one`` mode: measure one (method, size) and write the result
    (progress after every stage) to ``spec['out']``."""
    out_path = spec['out']
    res: Dict[str, Any] = dict(stage='setup')
    _write_json(out_path, res)
    mapped_dir = None
    try:
        import torch
        from mmengine.config import Config
        from mmengine.registry import DefaultScope
        from mmengine.utils import import_modules_from_strings

        from mmpatch.memory import MemoryMeter

        device = torch.device(spec['device'])
        if device.type == 'cuda' and spec.get('memory_limit'):
            total = torch.cuda.get_device_properties(device).total_memory
            torch.cuda.set_per_process_memory_fraction(
                min(1.0, spec['memory_limit'] / total), device)
        cfg = Config.fromfile(spec['config'])
        if spec.get('cfg_options'):
            cfg.merge_from_dict(spec['cfg_options'])
        scope = cfg.get('default_scope')
        if scope not in SCOPES:
            raise ValueError(
                f'{spec["config"]}: default_scope={scope!r}; the benchmark '
                f'knows {sorted(SCOPES)}')
        task = SCOPES[scope]
        if cfg.get('custom_imports'):
            import_modules_from_strings(**cfg.custom_imports)
        import importlib
        importlib.import_module(f'{scope}.utils').register_all_modules(
            init_default_scope=False)
        registry = importlib.import_module(f'{scope}.registry').MODELS
        if spec.get('threads'):
            torch.set_num_threads(spec['threads'])
        res['threads'] = torch.get_num_threads()
        model_cfg = copy.deepcopy(cfg.model)
        # as mmengine's Runner does (mmpretrain configs keep it top level)
        if cfg.get('data_preprocessor') is not None:
            model_cfg.setdefault('data_preprocessor',
                                 copy.deepcopy(cfg.data_preprocessor))
        if spec.get('stock'):
            model_cfg = stock_model_cfg(model_cfg)
        _scrub_downloads(model_cfg)
        size, input_size = spec['size'], spec['input_size']
        with DefaultScope.overwrite_default_scope(scope):
            if model_cfg.get('type') == 'ImageClassifier' and spec.get(
                    'stock'):
                _fix_classifier_head(model_cfg, registry,
                                     spec.get('patch') or 224)
            torch.manual_seed(spec.get('seed', 0))
            model = registry.build(model_cfg)
            model.init_weights()
            model.to(device)
            model.train()
            from mmengine.optim import build_optim_wrapper
            optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
            if spec.get('image_source') == 'mapped':
                mapped_dir = tempfile.mkdtemp(prefix='mapped_images_')
            batch = make_batch(task, size, input_size, spec['batch_size'],
                               _num_classes(model_cfg, task),
                               spec.get('seed', 0), mapped_dir)
            from mmpatch.patchgd import PatchGDMixin
            patchgd = isinstance(model, PatchGDMixin)
            res.update(
                task=task,
                model=type(model).__name__,
                memory_method=MemoryMeter(device=device).method,
                num_params=sum(p.numel() for p in model.parameters()))
            if patchgd:
                pcfg = model.patch_cfg
                res['patch'] = int(pcfg.patch_size[0])
                # known before the step, so an oom record has them too
                grid = [-(-input_size // p) for p in pcfg.patch_size]
                res['grid'] = grid
                if pcfg.patches_per_iter != 'auto':
                    res['k'] = int(
                        pcfg.patches_for(grid[0] * grid[1],
                                         (input_size, input_size)))
            res['vm_setup_mb'] = _vm_size_mb()
            measure(spec, res, model, optim_wrapper, batch, device)
    except BaseException as exc:  # noqa: B902 - report, never crash
        if isinstance(exc, KeyboardInterrupt):
            raise
        res['status'] = _fail(res, exc, 'setup_status')
    finally:
        if mapped_dir is not None:
            shutil.rmtree(mapped_dir, ignore_errors=True)
    res['stage'] = 'done'
    res['rss_peak_mb'] = _rss_peak_mb()
    _write_json(out_path, res)


def _fail(res: dict, exc: BaseException, key: str) -> str:
    """Record a failure's status under ``key`` (and a first ``detail``)."""
    status = classify_exception(exc)
    res[key] = status
    res.setdefault('detail', _one_line(f'{type(exc).__name__}: {exc}', 500))
    if status != 'oom':
        traceback.print_exc()
    return status


def measure(spec: dict, res: dict, model, optim_wrapper, batch,
            device) -> None:
    """Measure training and inference of a built model into ``res``.

    ``spec``: ``steps``, ``out`` (progress file) and ``breakdown``. An
    allocation failure in training still lets inference be measured.
    """
    import torch

    from mmpatch.memory import MemoryMeter
    from mmpatch.patchgd import PatchGDMixin
    patchgd = isinstance(model, PatchGDMixin)

    def stage(name: str) -> None:
        res['stage'] = name
        _write_json(spec['out'], res)

    def fail(exc: BaseException, key: str) -> str:
        return _fail(res, exc, key)

    def train_once(data) -> tuple:
        _sync(device)
        t0, c0 = time.perf_counter(), time.process_time()
        model.train_step(data, optim_wrapper)
        _sync(device)
        return time.perf_counter() - t0, time.process_time() - c0

    def infer_once(data) -> tuple:
        _sync(device)
        t0, c0 = time.perf_counter(), time.process_time()
        outputs = model.val_step(data)
        _sync(device)
        return outputs, time.perf_counter() - t0, time.process_time() - c0

    # ------------------------------------------------ memory_budget='auto'
    if patchgd and model.patch_cfg.patches_per_iter == 'auto':
        stage('plan')
        from mmpatch.memory import parse_bytes
        from mmpatch.memory.planner import plan_memory

        def measure(fn) -> int:
            with MemoryMeter(device=device,
                             track=[model, optim_wrapper]) as meter:
                fn()
            return meter.peak_bytes

        try:
            plan = plan_memory(model, batch, optim_wrapper,
                               parse_bytes(model.patch_cfg.memory_budget),
                               measure)
        except BaseException as exc:  # noqa: B902
            res['status'] = fail(exc, 'train_status')
            return
        from mmpatch.patchgd import StepPlan
        model.set_step_plan(StepPlan(patches_per_iter=plan.patches_per_iter,
                                     fill_chunk=plan.fill_chunk))
        res['plan'] = dict(
            patches_per_iter=plan.patches_per_iter,
            fill_chunk=plan.fill_chunk,
            predicted_peak_mb=round(plan.predicted_peak / MIB, 2),
            budget_mb=round(plan.budget / MIB, 2))

    # ------------------------------------------------------------ training
    steps = spec['steps']
    train_status = 'ok'
    meter = None
    try:
        if steps > 1:
            # metered too: its peak is the first step's (before the
            # optimizer state exists), and an oom here gets a lower bound
            stage('warmup')
            data = copy.deepcopy(batch)
            meter = MemoryMeter(device=device,
                                track=[model, optim_wrapper, data])
            with meter:
                res['warmup_s'] = round(train_once(data)[0], 4)
            res['warmup_peak_mb'] = round(meter.peak_bytes / MIB, 2)
            del data
        stage('train')
        data = copy.deepcopy(batch)
        gc.collect()
        meter = MemoryMeter(device=device,
                            track=[model, optim_wrapper, data])
        with meter:
            wall, cpu = train_once(data)
        del data
        res['peak_train_mb'] = round(meter.peak_bytes / MIB, 2)
        res['fixed_mb'] = round(meter.baseline_bytes / MIB, 2)
        res['step_s'], res['step_cpu_s'] = round(wall, 4), round(cpu, 4)
        res['timed_with_meter'] = True
        _write_json(spec['out'], res)
        if steps > 2:  # time without the meter's per-operator overhead
            times = [
                train_once(copy.deepcopy(batch)) for _ in range(steps - 2)
            ]
            res['step_s'] = round(statistics.median(t[0] for t in times), 4)
            res['step_cpu_s'] = round(
                statistics.median(t[1] for t in times), 4)
            res['timed_with_meter'] = False
    except BaseException as exc:  # noqa: B902
        train_status = fail(exc, 'train_status')
        if train_status == 'oom' and meter is not None:
            asked = asked_bytes(str(exc))
            needed = meter.peak_bytes
            if asked:
                needed = max(needed, meter.current_bytes + asked)
            res['min_needed_train_mb'] = round(needed / MIB, 2)
        del exc
    res['train_status'] = train_status
    stats = model.last_step_stats if patchgd else None
    if stats is not None:
        res['k'] = int(stats.patches_per_iter)
        res['grid'] = list(stats.grid)
        res['latent_mb'] = round(stats.latent_bytes / MIB, 2)
        res['fill_s'] = round(stats.fill_s, 4)
        res['inner_iters'] = int(model.patch_cfg.inner_iters)
        res['fill_chunk'] = int(
            model.step_plan.fill_chunk_for(model.patch_cfg))
    stage('infer')
    gc.collect()

    # ----------------------------------------------------------- inference
    infer_status = 'ok'
    model.zero_grad(set_to_none=True)  # an oom may leave gradients behind
    model.eval()
    try:
        data = copy.deepcopy(batch)
        gc.collect()
        meter = MemoryMeter(device=device, track=[model, data])
        with torch.no_grad(), meter:
            outputs, wall, cpu = infer_once(data)
        del outputs, data
        res['peak_infer_mb'] = round(meter.peak_bytes / MIB, 2)
        res['infer_s'], res['infer_cpu_s'] = round(wall, 4), round(cpu, 4)
        if steps > 2:
            with torch.no_grad():
                _, wall, cpu = infer_once(copy.deepcopy(batch))
            res['infer_s'], res['infer_cpu_s'] = round(wall, 4), round(cpu, 4)
    except BaseException as exc:  # noqa: B902
        infer_status = fail(exc, 'infer_status')
        del exc
    res['infer_status'] = infer_status
    gc.collect()

    # ----------------------------------------------------------- breakdown
    if spec.get('breakdown'):
        stage('breakdown')
        res['breakdown'] = {}
        if train_status == 'ok':
            model.train()
            data = copy.deepcopy(batch)
            gc.collect()
            meter = MemoryMeter(device=device,
                                track=[model, optim_wrapper, data])
            recorder = PhaseRecorder(meter)
            try:
                with meter:
                    _phase_wrappers(recorder, model, optim_wrapper, True)
                    model.train_step(data, optim_wrapper)
                    res['breakdown']['train'] = recorder.finish()
            except BaseException as exc:  # noqa: B902
                recorder.restore()
                res['breakdown']['train'] = classify_exception(exc)
            del data
        if infer_status == 'ok':
            model.eval()
            data = copy.deepcopy(batch)
            gc.collect()
            meter = MemoryMeter(device=device, track=[model, data])
            recorder = PhaseRecorder(meter)
            try:
                with torch.no_grad(), meter:
                    _phase_wrappers(recorder, model, optim_wrapper, False)
                    outputs = model.val_step(data)
                    res['breakdown']['infer'] = recorder.finish()
                del outputs
            except BaseException as exc:  # noqa: B902
                recorder.restore()
                res['breakdown']['infer'] = classify_exception(exc)
            del data

    statuses = [train_status, infer_status]
    if 'oom' in statuses:
        res['status'] = 'oom'
    else:
        res['status'] = next((s for s in statuses if s != 'ok'), 'ok')


# =========================================================================
# the parent: plan runs, spawn, collect, table, plot
# =========================================================================
def _limit_preexec(limit: Optional[int]):
    if not limit:
        return None

    def preexec() -> None:
        import resource
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    return preexec


def run_child(spec: dict, memory_limit: Optional[int], device: str,
              timeout: Optional[float] = None,
              log_path: Optional[str] = None,
              argv: Optional[List[str]] = None) -> Dict[str, Any]:
    """Run one measurement in a fresh subprocess and classify its end.

    Args:
        spec: what ``--one`` measures (its ``out`` is set here).
        memory_limit: bytes; ``RLIMIT_AS`` of the subprocess on CPU.
        device: ``'cpu'`` or ``'cuda'``.
        timeout: seconds, or None.
        log_path: where to keep the subprocess's output (else a temp file).
        argv: the command to run instead of this script's ``--one`` (tests).

    Returns:
        dict: the subprocess's report with ``status`` and ``detail``.
    """
    with tempfile.TemporaryDirectory(prefix='mmpatch_bench_') as tmp:
        spec = dict(spec, out=osp.join(tmp, 'result.json'))
        cmd = argv or [
            sys.executable,
            osp.abspath(__file__), '--one',
            json.dumps(spec)
        ]
        log = log_path or osp.join(tmp, 'log.txt')
        env = dict(os.environ)
        env.setdefault('PYTHONWARNINGS', 'ignore:pkg_resources is deprecated')
        env['PYTHONPATH'] = os.pathsep.join(
            [REPO] + [p for p in env.get('PYTHONPATH', '').split(os.pathsep)
                      if p])
        cpu_limit = memory_limit if device == 'cpu' else None
        timed_out = False
        t0 = time.perf_counter()
        with open(log, 'w') as log_file:
            proc = subprocess.Popen(
                cmd,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=REPO,
                preexec_fn=_limit_preexec(cpu_limit),
                start_new_session=True)
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                timed_out = True
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        wall = time.perf_counter() - t0
        result = None
        if osp.isfile(spec['out']):
            try:
                with open(spec['out']) as f:
                    result = json.load(f)
            except ValueError:
                result = None
        with open(log, errors='replace') as f:
            tail = f.read()[-6000:]
        out = classify_exit(proc.returncode, result, tail, timed_out)
        out['wall_s'] = round(wall, 2)
        if out.get('status') != 'ok':
            out['log_tail'] = tail
        return out


def build_specs(args) -> List[dict]:
    """One spec per (size, method), ours first."""
    from mmengine.config import Config

    # the subprocesses import the libraries; the parent only reads keys
    cfg = Config.fromfile(args.config, import_custom_modules=False)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    patch = _patch_size(cfg.model.to_dict())
    specs = []
    base = dict(
        steps=args.steps,
        batch_size=args.batch_size,
        device=args.device,
        seed=args.seed,
        breakdown=args.breakdown,
        threads=args.threads,
        memory_limit=args.memory_limit)
    for size in args.sizes:
        specs.append(
            dict(base, method='ours', config=osp.abspath(args.config),
                 config_name=args.config, cfg_options=args.cfg_options,
                 size=size, input_size=size, stock=False, patch=patch,
                 image_source=args.image_source))
        if args.baseline == 'none':
            continue
        if args.baseline == 'downsampled' and not patch:
            raise SystemExit(
                f'--baseline downsampled needs the patch size of {args.config}'
                ' (model.patch_cfg.patch_size)')
        bcfg = args.baseline_config or args.config
        bopts = dict(({} if args.baseline_config else args.cfg_options)
                     or {}, **(args.baseline_cfg_options or {}))
        specs.append(
            dict(base, method=args.baseline, config=osp.abspath(bcfg),
                 config_name=bcfg,
                 cfg_options=bopts or None,
                 size=size,
                 input_size=patch if args.baseline == 'downsampled' else size,
                 stock=args.baseline_config is None, patch=patch))
    return specs


def make_record(spec: dict, out: dict, args) -> Dict[str, Any]:
    ours = spec['method'] == 'ours'
    rec = dict(
        method=spec['method'],
        task=out.get('task'),
        size=spec['size'],
        patch=out.get('patch', spec['patch']) if ours else None,
        k=out.get('k'),
        peak_train_mb=out.get('peak_train_mb'),
        peak_infer_mb=out.get('peak_infer_mb'),
        step_s=out.get('step_s'),
        infer_s=out.get('infer_s'),
        status=out.get('status', 'error: no status'),
        image_source=spec.get('image_source', 'memory'),
        latent_mb=out.get('latent_mb'),
        memory_method=out.get('memory_method'),
        config=spec['config_name'],
        model=out.get('model'),
        input_size=spec['input_size'],
        grid=out.get('grid'),
        batch_size=spec['batch_size'],
        device=spec['device'],
        fixed_mb=out.get('fixed_mb'),
        fill_s=out.get('fill_s'),
        train_status=out.get('train_status'),
        infer_status=out.get('infer_status'),
        rss_peak_mb=out.get('rss_peak_mb'),
        memory_limit_mb=(round(args.memory_limit / MIB)
                         if args.memory_limit else None),
        steps=spec['steps'],
        wall_s=out.get('wall_s'))
    for key in ('step_cpu_s', 'infer_cpu_s', 'timed_with_meter',
                'warmup_peak_mb', 'vm_setup_mb',
                'min_needed_train_mb', 'plan', 'breakdown', 'detail',
                'inner_iters', 'fill_chunk', 'warmup_s', 'num_params',
                'threads'):
        if key in out:
            rec[key] = out[key]
    if spec.get('cfg_options'):
        rec['cfg_options'] = spec['cfg_options']
    if args.budget:
        rec['over_budget'] = over_budget(rec, args.budget)
    return rec


def over_budget(rec: dict, budget: int) -> Optional[bool]:
    """Whether a record's peak exceeds ``budget`` bytes (None: unknown)."""
    peaks = [rec.get('peak_train_mb'), rec.get('peak_infer_mb')]
    if rec.get('min_needed_train_mb') is not None:
        peaks.append(rec['min_needed_train_mb'])
    known = [p for p in peaks if p is not None]
    if any(p * MIB > budget for p in known):
        return True
    if rec['status'] != 'ok':  # a peak is missing: unknown
        return None
    return False if known else None


def _fmt(value, digits=1) -> str:
    if value is None:
        return '-'
    if isinstance(value, float):
        return f'{value:.{digits}f}'
    return str(value)


def format_table(records: List[dict]) -> str:
    cols = [('method', 'method', None), ('size', 'size', None),
            ('input', 'input_size', None), ('k', 'k', None),
            ('grid', 'grid', None), ('train MiB', 'peak_train_mb', 1),
            ('infer MiB', 'peak_infer_mb', 1), ('step s', 'step_s', 2),
            ('infer s', 'infer_s', 2), ('Z MiB', 'latent_mb', 1),
            ('status', 'status', None)]
    rows = [[name for name, _, _ in cols]]
    for rec in records:
        row = []
        for _, key, digits in cols:
            value = rec.get(key)
            if key == 'grid' and value:
                value = 'x'.join(map(str, value))
            if key == 'peak_train_mb' and value is None and \
                    rec.get('min_needed_train_mb') is not None:
                value = f'>{rec["min_needed_train_mb"]:.0f}'
            if key == 'status':
                value = _one_line(value, 60)  # the JSON has all of it
                if rec.get('over_budget'):
                    value = f'{value} (over budget)'
            row.append(_fmt(value, digits or 1) if digits else _fmt(value))
        rows.append(row)
    widths = [max(len(r[i]) for r in rows) for i in range(len(cols))]
    lines = []
    for n, row in enumerate(rows):
        lines.append('  '.join(
            cell.ljust(w) if i in (0, len(cols) - 1) else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(row, widths))))
        if n == 0:
            lines.append('  '.join('-' * w for w in widths))
    return '\n'.join(lines)


def plot_records(records: List[dict], path: str, title: str,
                 memory_limit: Optional[int] = None,
                 budget: Optional[int] = None) -> None:
    """Peak training memory (MiB, log y) against image side, one line per
    method; oom points are crosses in the method's colour (at their lower
    bound when known, else at the memory limit)."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    from matplotlib import ticker

    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    methods = []
    for rec in records:
        if rec['method'] not in methods:
            methods.append(rec['method'])
    limit_mb = memory_limit / MIB if memory_limit else None
    sizes = sorted({rec['size'] for rec in records})
    ys = [r['peak_train_mb'] for r in records if r.get('peak_train_mb')]
    oom_label_done = False
    for method in methods:
        recs = sorted((r for r in records if r['method'] == method),
                      key=lambda r: r['size'])
        model = next((r.get('model') for r in recs if r.get('model')), None)
        label = method if not model else f'{method} ({model})'
        ok = [r for r in recs if r.get('peak_train_mb') is not None]
        line, = ax.plot([r['size'] for r in ok],
                        [r['peak_train_mb'] for r in ok],
                        marker='o',
                        label=label)
        for r in recs:
            if r.get('peak_train_mb') is not None:
                continue
            if r['status'] == 'oom':
                y = r.get('min_needed_train_mb') or limit_mb or (
                    max(ys) if ys else 1.0)
                ax.plot([r['size']], [y],
                        marker='x',
                        color=line.get_color(),
                        markersize=11,
                        markeredgewidth=2.5,
                        linestyle='none',
                        label=None if oom_label_done else
                        'out of memory (at the lower bound)')
                oom_label_done = True
                ax.annotate(f'{method}: OOM', (r['size'], y),
                            textcoords='offset points',
                            xytext=(6, 6),
                            fontsize=8,
                            color=line.get_color())
                ys.append(y)
    from mmpatch.memory import format_bytes
    if limit_mb and oom_label_done:  # only where something did not fit
        ax.axhline(limit_mb, color='grey', linestyle=':', linewidth=1,
                   label=f'memory limit ({format_bytes(memory_limit)}, '
                   'address space)')
    if budget:
        ax.axhline(budget / MIB, color='green', linestyle='--', linewidth=1,
                   label=f'budget ({format_bytes(budget)})')
    ax.set_xscale('log', base=2)
    ax.set_yscale('log')
    ax.set_xticks(sizes)
    ax.set_xticklabels([f'{s}²' for s in sizes])
    ax.xaxis.set_minor_locator(ticker.NullLocator())
    ax.yaxis.set_major_locator(ticker.LogLocator(base=10, subs=(1, 2, 5)))
    ax.yaxis.set_major_formatter(ticker.FuncFormatter(
        lambda y, _: f'{y:g}'))
    ax.yaxis.set_minor_locator(ticker.NullLocator())
    ax.set_xlabel('image side (pixels)')
    ax.set_ylabel('peak training memory (MiB)')
    ax.set_title(title, fontsize=10)
    ax.grid(True, which='both', alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def parse_args(argv=None):
    from mmengine.config import DictAction

    from mmpatch.memory import parse_bytes
    parser = argparse.ArgumentParser(
        description='Peak memory and time of one training step and one '
        'inference, PatchGD against a baseline, per image size; each in a '
        'fresh subprocess.')
    parser.add_argument('config', help='a PatchGD config ("ours")')
    parser.add_argument('--sizes', type=int, nargs='+',
                        default=[1024, 2048, 4096],
                        help='image sides in pixels (square images)')
    parser.add_argument(
        '--baseline', choices=['full', 'downsampled', 'none'],
        default=None,
        help='full: the stock model on the whole image; downsampled: on the '
        'image resized to the patch size; none: ours only. Defaults to full '
        'when --baseline-config is given, else none')
    parser.add_argument(
        '--baseline-config',
        help='config of the baseline model (default: CONFIG with the host '
        "library's stock model type and the PatchGD keys removed)")
    parser.add_argument('--json', help='write the records to this file')
    parser.add_argument('--plot', help='write the plot to this .png')
    parser.add_argument(
        '--steps', type=int, default=2,
        help='training steps per run: with N > 1 the first is a warm-up, '
        'the next one is measured (peak and time), and N - 2 more are timed '
        "without the meter (step_s: their median; the CPU meter's "
        'per-operator overhead is then out of the time) (default 2)')
    parser.add_argument('--batch-size', type=int, default=1)
    parser.add_argument(
        '--memory-limit', default='20G',
        help="per subprocess: RLIMIT_AS on CPU (address space, interpreter "
        "and libraries included), the allocator's fraction on CUDA; '0' for "
        'none (default 20G)')
    parser.add_argument(
        '--budget', help="mark records whose peak exceeds it, e.g. '2G'")
    parser.add_argument('--timeout', type=float, default=None,
                        help='seconds per subprocess (default: none)')
    parser.add_argument('--device', default=None,
                        help='cpu or cuda (default: cuda when available)')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument(
        '--image-source', choices=['memory', 'mapped'], default='memory',
        help='how ours holds its images: decoded in memory (as '
        'LoadImageFromFile gives them; the default) or memory-mapped and '
        'read patch by patch (as LoadLazyImage gives them). The baseline '
        'always holds them in memory')
    parser.add_argument(
        '--threads', type=int, default=None,
        help='torch.set_num_threads in each subprocess (default: torch\'s '
        'choice); 1 gives steadier times on a busy machine')
    parser.add_argument('--breakdown', action='store_true',
                        help='also split the peaks by phase (one more '
                        'training step and inference)')
    parser.add_argument('--log-dir',
                        help='keep each subprocess output here')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override settings of CONFIG (and of the '
                        'derived baseline), e.g. '
                        'model.patch_cfg.patches_per_iter=4')
    parser.add_argument('--baseline-cfg-options', nargs='+',
                        action=DictAction,
                        help='override settings of the baseline only, after '
                        '--cfg-options, e.g. model.backbone.with_cp=False '
                        'for the stock network')
    args = parser.parse_args(argv)
    if args.baseline is None:
        args.baseline = 'full' if args.baseline_config else 'none'
    if args.baseline_config and args.baseline == 'none':
        parser.error('--baseline-config needs --baseline full|downsampled')
    if args.steps < 1:
        parser.error('--steps must be >= 1')
    try:
        args.memory_limit = parse_bytes(args.memory_limit) or None
        args.budget = parse_bytes(args.budget) if args.budget else None
    except ValueError as exc:
        parser.error(str(exc))
    if args.device is None:
        import torch
        args.device = 'cuda' if torch.cuda.is_available() else 'cpu'
    for key in ('cfg_options', 'baseline_cfg_options'):
        if getattr(args, key):
            setattr(args, key, {
                k: (v.to_dict() if hasattr(v, 'to_dict') else v)
                for k, v in getattr(args, key).items()
            })
    return args


def main(argv=None) -> List[dict]:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == '--one':
        run_one(json.loads(argv[1]))
        return []
    args = parse_args(argv)
    specs = build_specs(args)
    records: List[dict] = []
    if args.log_dir:
        os.makedirs(args.log_dir, exist_ok=True)
    for spec in specs:
        tag = f'{spec["method"]} @ {spec["size"]}'
        print(f'[benchmark_memory] {tag}: running '
              f'(input {spec["input_size"]} px)...', flush=True)
        log_path = osp.join(args.log_dir, f'{spec["method"]}_{spec["size"]}'
                            '.log') if args.log_dir else None
        out = run_child(spec, args.memory_limit, args.device, args.timeout,
                        log_path)
        rec = make_record(spec, out, args)
        records.append(rec)
        msg = (f'[benchmark_memory] {tag}: {rec["status"]}; train peak '
               f'{_fmt(rec["peak_train_mb"])} MiB, infer peak '
               f'{_fmt(rec["peak_infer_mb"])} MiB, step '
               f'{_fmt(rec["step_s"], 2)} s ({out.get("wall_s")} s in all)')
        print(msg, flush=True)
        if rec['status'] != 'ok':
            print(f'[benchmark_memory] {tag}: {rec.get("detail", "")}',
                  flush=True)
            if rec['status'] != 'oom':
                print('----- subprocess output (tail) -----\n' +
                      out.get('log_tail', '')[-3000:] +
                      '\n------------------------------------', flush=True)
        if args.json:
            os.makedirs(osp.dirname(osp.abspath(args.json)), exist_ok=True)
            _write_json(args.json, records)
    print()
    print(format_table(records))
    if args.plot:
        first = records[0] if records else {}
        title = (f'{osp.basename(args.config)}: peak of one training step\n'
                 f'({first.get("memory_method")}, batch {args.batch_size})')
        plot_records(records, args.plot, title, args.memory_limit,
                     args.budget)
        print(f'plot: {args.plot}')
    if args.json:
        print(f'records: {args.json}')
    return records


if __name__ == '__main__':
    main()
