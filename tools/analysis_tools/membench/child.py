"""The child process (``benchmark_memory.py --one SPEC``): build one
(method, size) and measure it, writing its progress after every stage so
that the parent can tell where it stopped."""
import shutil
import tempfile
from typing import Any, Dict, Optional

from .batch import make_batch
from .measure import fail, measure
from .models import build_model, load_config, num_classes
from .runner import write_json


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


def _known_before_step(res: dict, model, input_size: int) -> None:
    """Patch, grid and k of a PatchGD model, so an oom record has them."""
    pcfg = model.patch_cfg
    res['patch'] = int(pcfg.patch_size[0])
    grid = [-(-input_size // p) for p in pcfg.patch_size]
    res['grid'] = grid
    res['gradient'] = pcfg.gradient
    if pcfg.patches_per_iter != 'auto':
        res['k'] = int(pcfg.patches_for(grid[0] * grid[1],
                                        (input_size, input_size)))


def run_one(spec: dict) -> None:
    """Measure one (method, size) and write the result (progress after
    every stage) to ``spec['out']``."""
    out_path = spec['out']
    res: Dict[str, Any] = dict(stage='setup')
    write_json(out_path, res)
    mapped_dir = None
    try:
        import torch
        from mmengine.registry import DefaultScope

        from mmpatch.memory import MemoryMeter
        from mmpatch.patchgd import PatchGDMixin

        device = torch.device(spec['device'])
        if device.type == 'cuda' and spec.get('memory_limit'):
            total = torch.cuda.get_device_properties(device).total_memory
            torch.cuda.set_per_process_memory_fraction(
                min(1.0, spec['memory_limit'] / total), device)
        cfg, scope, task = load_config(spec['config'],
                                       spec.get('cfg_options'))
        if spec.get('threads'):
            torch.set_num_threads(spec['threads'])
        res['threads'] = torch.get_num_threads()
        size, input_size = spec['size'], spec['input_size']
        with DefaultScope.overwrite_default_scope(scope):
            model, optim_wrapper, model_cfg = build_model(
                cfg, scope, bool(spec.get('stock')), spec.get('patch'),
                spec.get('seed', 0), device)
            if spec.get('image_source') == 'mapped':
                mapped_dir = tempfile.mkdtemp(prefix='mapped_images_')
            batch = make_batch(task, size, input_size, spec['batch_size'],
                               num_classes(model_cfg, task),
                               spec.get('seed', 0), mapped_dir)
            res.update(
                task=task,
                model=type(model).__name__,
                memory_method=MemoryMeter(device=device).method,
                num_params=sum(p.numel() for p in model.parameters()))
            if isinstance(model, PatchGDMixin):
                _known_before_step(res, model, input_size)
            res['vm_setup_mb'] = _vm_size_mb()
            measure(spec, res, model, optim_wrapper, batch, device)
    except BaseException as exc:  # noqa: B902 - report, never crash
        if isinstance(exc, KeyboardInterrupt):
            raise
        res['status'] = fail(res, exc, 'setup_status')
    finally:
        if mapped_dir is not None:
            shutil.rmtree(mapped_dir, ignore_errors=True)
    res['stage'] = 'done'
    res['rss_peak_mb'] = _rss_peak_mb()
    write_json(out_path, res)
