"""The child's measurement of a built model: the memory plan (a PatchGD
model with a ``memory_budget``), training steps, one inference, and the
breakdown by phase. Every stage writes its progress, and a failure in one
is recorded without ending the others (an oom in training still lets
inference be measured)."""
import copy
import gc
import statistics
import time
import traceback
from dataclasses import replace

from .failures import asked_bytes, classify_exception, one_line
from .phases import PhaseRecorder, wrap_phases
from .runner import write_json

MIB = 2**20


def fail(res: dict, exc: BaseException, key: str) -> str:
    """Record a failure's status under ``key`` (and a first ``detail``)."""
    status = classify_exception(exc)
    res[key] = status
    res.setdefault('detail', one_line(f'{type(exc).__name__}: {exc}', 500))
    if status != 'oom':
        traceback.print_exc()
    return status


def _sync(device) -> None:
    import torch
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


def _timed(device, fn, *args) -> tuple:
    """``fn(*args)``, its wall and process CPU seconds."""
    _sync(device)
    t0, c0 = time.perf_counter(), time.process_time()
    out = fn(*args)
    _sync(device)
    return out, time.perf_counter() - t0, time.process_time() - c0


def plan_budget(res: dict, model, optim_wrapper, batch, device) -> None:
    """What :class:`~mmpatch.engine.hooks.MemoryBudgetHook` does before
    training, for a PatchGD model with ``patch_cfg.memory_budget``: the
    planner's trial steps choose k (unless ``patch_cfg`` fixes it) and the
    chunks, and the model gets them through ``set_step_plan``."""
    from mmpatch.memory import MemoryMeter
    from mmpatch.memory.planner import fit_budget
    cfg = model.patch_cfg
    fixed = (cfg.patches_per_iter
             if isinstance(cfg.patches_per_iter, int) else None)

    def measure_trial(trial) -> int:
        # the batch is tracked as the hook tracks it: the trials step on
        # deep copies of it, which the CPU count does not see being made
        with MemoryMeter(device=device,
                         track=[model, optim_wrapper, batch]) as meter:
            trial()
        return meter.peak_bytes

    plan = fit_budget(model, batch, optim_wrapper, cfg.budget_bytes,
                       measure_trial, fixed_k=fixed)
    model.set_step_plan(
        replace(model.step_plan,
                **plan.step_plan_fields(fixed_k=fixed is not None)))
    res['plan'] = dict(
        patches_per_iter=plan.patches_per_iter,
        fill_chunk=plan.fill_chunk,
        backward_chunk=plan.backward_chunk,
        keep_chunks=plan.keep_chunks,
        checkpoint=plan.checkpoint,
        checkpointed_modules=plan.checkpointed_modules,
        uncheckpointed_peak_mb=None if plan.uncheckpointed_peak is None
        else round(plan.uncheckpointed_peak / MIB, 2),
        predicted_peak_mb=round(plan.predicted_peak / MIB, 2),
        budget_mb=round(plan.budget / MIB, 2))


def train(spec: dict, res: dict, model, optim_wrapper, batch, device,
          stage) -> str:
    """Warm-up, the measured step and the timed steps; returns the
    training status."""
    from mmpatch.memory import MemoryMeter
    steps, meter = spec['steps'], None

    def step(data):
        return _timed(device, model.train_step, data, optim_wrapper)

    try:
        if steps > 1:
            # metered too: its peak is the first step's (before the
            # optimizer state exists), and an oom here gets a lower bound
            stage('warmup')
            data = copy.deepcopy(batch)
            meter = MemoryMeter(device=device,
                                track=[model, optim_wrapper, data])
            with meter:
                res['warmup_s'] = round(step(data)[1], 4)
            res['warmup_peak_mb'] = round(meter.peak_bytes / MIB, 2)
            del data
        stage('train')
        data = copy.deepcopy(batch)
        gc.collect()
        meter = MemoryMeter(device=device,
                            track=[model, optim_wrapper, data])
        with meter:
            _, wall, cpu = step(data)
        del data
        res['peak_train_mb'] = round(meter.peak_bytes / MIB, 2)
        res['fixed_mb'] = round(meter.baseline_bytes / MIB, 2)
        res['step_s'], res['step_cpu_s'] = round(wall, 4), round(cpu, 4)
        res['timed_with_meter'] = True
        write_json(spec['out'], res)
        if steps > 2:  # time without the meter's per-operator overhead
            times = [step(copy.deepcopy(batch))[1:] for _ in range(steps - 2)]
            res['step_s'] = round(statistics.median(t[0] for t in times), 4)
            res['step_times_s'] = [round(t[0], 4) for t in times]
            res['step_cpu_s'] = round(
                statistics.median(t[1] for t in times), 4)
            res['timed_with_meter'] = False
        return 'ok'
    except BaseException as exc:  # noqa: B902
        status = fail(res, exc, 'train_status')
        if status == 'oom' and meter is not None:
            asked = asked_bytes(str(exc))
            needed = meter.peak_bytes
            if asked:
                needed = max(needed, meter.current_bytes + asked)
            res['min_needed_train_mb'] = round(needed / MIB, 2)
        return status


def step_figures(res: dict, model) -> None:
    """The last training step's figures (:class:`StepStats`) into ``res``."""
    stats = model.last_step_stats
    if stats is None:
        return
    res['k'] = int(stats.patches_per_iter)
    res['grid'] = list(stats.grid)
    res['latent_mb'] = round(stats.latent_bytes / MIB, 2)
    res['fill_s'] = round(stats.fill_s, 4)
    res['gradient'] = stats.gradient
    res['backward_chunk'] = stats.backward_chunk
    res['inner_iters'] = int(model.patch_cfg.inner_iters)
    res['fill_chunk'] = int(model.step_plan.fill_chunk_for(model.patch_cfg))
    res['kept_chunks'] = int(stats.kept_chunks)


def infer(spec: dict, res: dict, model, batch, device) -> str:
    """One metered inference (and one timed without the meter with
    ``steps`` > 2); returns the inference status."""
    import torch

    from mmpatch.memory import MemoryMeter
    model.zero_grad(set_to_none=True)  # an oom may leave gradients behind
    model.eval()
    try:
        data = copy.deepcopy(batch)
        gc.collect()
        meter = MemoryMeter(device=device, track=[model, data])
        with torch.no_grad(), meter:
            outputs, wall, cpu = _timed(device, model.val_step, data)
        del outputs, data
        res['peak_infer_mb'] = round(meter.peak_bytes / MIB, 2)
        res['infer_s'], res['infer_cpu_s'] = round(wall, 4), round(cpu, 4)
        if spec['steps'] > 2:
            with torch.no_grad():
                _, wall, cpu = _timed(device, model.val_step,
                                      copy.deepcopy(batch))
            res['infer_s'], res['infer_cpu_s'] = round(wall, 4), round(cpu, 4)
        return 'ok'
    except BaseException as exc:  # noqa: B902
        return fail(res, exc, 'infer_status')


def breakdown(model, optim_wrapper, batch, device, training: bool):
    """One more training step (or inference), its peak and time split by
    phase (:mod:`.phases`); a failure's status instead."""
    import torch

    from mmpatch.memory import MemoryMeter
    model.train(training)
    data = copy.deepcopy(batch)
    gc.collect()
    track = [model, optim_wrapper, data] if training else [model, data]
    meter = MemoryMeter(device=device, track=track)
    recorder = PhaseRecorder(meter)
    try:
        with torch.set_grad_enabled(training), meter, wrap_phases(
                recorder, model, optim_wrapper, training):
            if training:
                model.train_step(data, optim_wrapper)
            else:
                model.val_step(data)
            return recorder.finish()
    except BaseException as exc:  # noqa: B902
        recorder.restore()
        return classify_exception(exc)


def measure(spec: dict, res: dict, model, optim_wrapper, batch,
            device) -> None:
    """Measure training and inference of a built model into ``res``.

    ``spec``: ``steps``, ``out`` (progress file) and ``breakdown``.
    """
    from mmpatch.patchgd import PatchGDMixin
    patchgd = isinstance(model, PatchGDMixin)

    def stage(name: str) -> None:
        res['stage'] = name
        write_json(spec['out'], res)

    if patchgd and model.patch_cfg.budget_bytes is not None:
        stage('plan')
        try:
            plan_budget(res, model, optim_wrapper, batch, device)
        except BaseException as exc:  # noqa: B902
            res['status'] = fail(res, exc, 'train_status')
            return
    train_status = train(spec, res, model, optim_wrapper, batch, device,
                         stage)
    res['train_status'] = train_status
    if patchgd:
        step_figures(res, model)
    stage('infer')
    gc.collect()
    infer_status = infer(spec, res, model, batch, device)
    res['infer_status'] = infer_status
    gc.collect()
    if spec.get('breakdown'):
        stage('breakdown')
        res['breakdown'] = {}
        if train_status == 'ok':
            res['breakdown']['train'] = breakdown(model, optim_wrapper, batch,
                                                  device, True)
        if infer_status == 'ok':
            res['breakdown']['infer'] = breakdown(model, optim_wrapper, batch,
                                                  device, False)
    statuses = [train_status, infer_status]
    if 'oom' in statuses:
        res['status'] = 'oom'
    else:
        res['status'] = next((s for s in statuses if s != 'ok'), 'ok')
