"""Checkpoint only what the budget cannot hold (#31): a plan with
``checkpoint=0`` runs θ1 without activation checkpointing, neither the
global patch's (``patch_cfg.with_cp``) nor the host modules' own (mmseg's
U-Net blocks here, ``backbone.with_cp``); ``checkpoint=n`` keeps the first
n host modules' own. The step stays exact, each block that is not
checkpointed runs forward once a cell, and the modules' flags are theirs
again after the step. The planner keeps every chunk first, then as little
checkpointing as the measured step needs to fit the budget."""
import copy

import pytest
import torch
from mmengine.optim import OptimWrapper

from mmpatch.memory import MemoryMeter
from mmpatch.memory.planner import fit_budget
from mmpatch.patchgd import StepPlan
from mmpatch.patchgd.layout import host_checkpointed
from tests.conftest import assert_step_equals_full

MiB = 2**20


def _unet(keep=None, **patch):
    """The tiny U-Net with its blocks and its global patch checkpointed:
    12 cells in fill chunks of 4 on the batch below."""
    from tests.test_models.test_segmentor import build, unet_cfg
    cfg = unet_cfg(patch_cfg=dict(
        patch_size=32, gradient='full', fill_chunk=4, keep_chunks=keep,
        full_bn_mode='eval', with_cp=True, **patch))
    cfg['backbone']['with_cp'] = True
    return build(cfg)


def _data(n=2):
    from tests.test_models.test_segmentor import samples_for
    return dict(inputs=[torch.randint(0, 255, (3, 64, 96), dtype=torch.uint8)
                        for _ in range(n)],
                data_samples=samples_for([(64, 96)] * n, (64, 96)))


@pytest.mark.parametrize('checkpoint', [None, False, 0, 1, 3])
def test_uncheckpointed_step_is_exact(seg_scope, checkpoint):
    """Every chunk kept, with all, some and none of the checkpointing: the
    full computation's loss and gradients (float64)."""
    from tests.test_models.test_segmentor import batch, samples_for
    model = _unet(keep=99).double()
    model.set_step_plan(StepPlan(checkpoint=checkpoint))
    shapes, batch_shape = [(64, 80), (40, 50)], (64, 80)
    assert_step_equals_full(model, batch(shapes, batch_shape),
                            samples_for(shapes, batch_shape))
    # the host modules' own switch is theirs again after the step
    assert len(host_checkpointed([model.backbone])) > 0


@pytest.mark.parametrize('kept,forwards,global_forwards',
                         [(None, 2, 3), (0, 1, 1), ('all', 2, 2),
                          ('all but the last', 1, 1)])
def test_uncheckpointed_step_runs_each_block_once(seg_scope, kept, forwards,
                                                  global_forwards):
    """Every chunk kept: a checkpointed block runs forward again in the
    backward (the global patch, under the engine's checkpoint too, a third
    time); without checkpointing, once. A plan that keeps the first n
    modules' checkpointing drops the engine's and the rest's."""
    model = _unet(keep=99).train()
    modules = host_checkpointed([model.backbone])
    count = dict(all=len(modules)).get(kept, kept)
    if kept == 'all but the last':
        count = len(modules) - 1
    model.set_step_plan(StepPlan(checkpoint=count))
    # the first block sees the pixels, which need no gradient: mmcv and
    # mmseg checkpoint a block only when its input does
    block = modules[-1]
    calls = []
    conv = next(m for m in block.modules() if isinstance(m, torch.nn.Conv2d))
    conv.register_forward_hook(lambda *a: calls.append(a[1][0].shape[0]))
    model.train_step(_data(), OptimWrapper(torch.optim.SGD(
        model.parameters(), lr=0.01)))
    # 12 cells in 3 chunks of 4, and the 2 global patches in one pass
    assert sum(n for n in calls if n == 4) == forwards * 12
    assert sum(n for n in calls if n == 2) == global_forwards * 2
    assert all(m.with_cp is True for m in modules)


def test_host_checkpointed_are_the_modules_that_checkpoint(seg_scope):
    """The blocks that checkpoint themselves, in forward order; not the
    containers that only hand the flag on."""
    model = _unet()
    modules = host_checkpointed([model.backbone])
    names = {m: n for n, m in model.backbone.named_modules()}
    order = list(names)
    assert modules and [order.index(m) for m in modules] == sorted(
        order.index(m) for m in modules)
    model.backbone.with_cp = True  # a container's flag
    assert host_checkpointed([model.backbone]) == modules
    for m in modules:
        assert not any(getattr(c, 'with_cp', False)
                       for c in m.modules() if c is not m), names[m]


def _planner_model():
    from tests.test_memory.test_planner import _model_and_batch
    model, batch, optim = _model_and_batch(
        patches_per_iter=None, inner_iters=None, gradient='full',
        fill_chunk=4, with_cp=True)
    model.backbone.apply(lambda m: setattr(m, 'with_cp', True)
                         if hasattr(m, 'with_cp') else None)
    return model, batch, optim


@pytest.mark.parametrize('room', [0, 1, 10, 19, 20, 1000])
def test_planner_keeps_only_the_checkpointing_the_budget_needs(
        seg_scope, room):
    """Each kept chunk costs 10 MiB; with every chunk kept, the engine's
    checkpointing off costs 2 MiB and each of the N host modules' own 18/N
    MiB more: the plan keeps the fewest modules checkpointed with which the
    step fits (none with 20 MiB free, all as configured with under 2), after
    measuring the step without any."""
    model, batch, optim = _planner_model()
    modules = len(host_checkpointed(model.patch_encoder_modules()))
    assert modules > 2
    seen = []

    def cost(n):
        return 0 if n is None else 2 + 18 * (modules - n) / modules

    def measure(trial):
        trial()
        seen.append((trial.keep_chunks, trial.checkpoint))
        return int((100 + 3 * trial.fill_chunk + 10 * trial.keep_chunks +
                    cost(trial.checkpoint)) * MiB)

    chunks = 2  # 8 cells in chunks of 4
    budget = int((112 + 10 * chunks + room) * MiB / 0.95) + 1
    plan = fit_budget(model, batch, optim, budget, measure)
    fits = [n for n in range(modules + 1) if cost(n) <= room]
    expected = fits[0] if fits else None
    assert plan.keep_chunks == chunks
    assert plan.checkpoint == expected
    assert plan.step_plan_fields()['checkpoint'] == expected
    assert plan.checkpointed_modules == modules
    assert plan.uncheckpointed_peak == (132 + 20) * MiB
    # after the kept chunks' trials: none, then a bisection of the count
    partial = [s for s in seen if s[1] is not None]
    assert partial[0] == (chunks, 0) and seen[-len(partial):] == partial
    assert all(keep == chunks for keep, _ in partial)
    assert len(partial) <= 2 + modules.bit_length()
    assert plan.predicted_peak <= budget * 0.95
    summary = plan.summary()
    assert ('without activation checkpointing' in summary) == (expected == 0)
    assert (f'first {expected} of {modules}' in summary) == bool(expected)


def test_planner_keeps_checkpointing_below_every_chunk(seg_scope):
    """With a chunk re-encoded, checkpointing stays as configured and no
    trial without it is run."""
    model, batch, optim = _planner_model()
    seen = []

    def measure(trial):
        trial()
        seen.append(trial.checkpoint)
        return (100 + 3 * trial.fill_chunk + 10 * trial.keep_chunks) * MiB

    plan = fit_budget(model, batch, optim,
                      int((112 + 15) * MiB / 0.95) + 1, measure)
    assert plan.keep_chunks == 1 and plan.checkpoint is None
    assert seen and all(c is None for c in seen)


def test_planned_uncheckpointed_step_stays_within_budget(seg_scope):
    """The real step under the CPU meter: at a budget that holds it the plan
    keeps every chunk without checkpointing, and the step stays within."""
    model, batch, optim = _planner_model()

    def measure(fn):
        with MemoryMeter('cpu', track=[model, optim]) as meter:
            fn()
        return meter.peak_bytes

    budget = measure(lambda: None) + 64 * MiB
    plan = fit_budget(model, batch, optim, budget, measure)
    assert plan.checkpoint == 0
    model.set_step_plan(StepPlan(**plan.step_plan_fields()))
    peak = measure(lambda: model.train_step(copy.deepcopy(batch), optim))
    assert peak <= budget, (peak, budget, plan.summary())
    assert model.last_step_stats.kept_chunks == plan.keep_chunks


def test_planned_partly_checkpointed_step_stays_within_budget(seg_scope):
    """The real step under the CPU meter, at a budget between the step
    without checkpointing and the step with only the engine's off: the plan
    keeps some of the modules' checkpointing, and the step stays within."""
    model, batch, optim = _planner_model()
    modules = len(host_checkpointed(model.patch_encoder_modules()))

    def measure(fn):
        with MemoryMeter('cpu', track=[model, optim]) as meter:
            fn()
        return meter.peak_bytes

    def real_step(checkpoint):
        model.set_step_plan(StepPlan(keep_chunks=99, checkpoint=checkpoint))
        return measure(lambda: model.train_step(copy.deepcopy(batch), optim))

    state = copy.deepcopy(model.state_dict())
    none, every = real_step(0), real_step(modules)
    model.load_state_dict(state)
    model.set_step_plan(StepPlan())
    assert none > every + MiB, (none, every)
    budget = int((none + every) / 2 / 0.95)
    plan = fit_budget(model, batch, optim, budget, measure)
    assert plan.keep_chunks == plan.num_chunks
    assert 0 < plan.checkpoint <= modules, plan.summary()
    assert plan.uncheckpointed_peak > budget * 0.95
    model.set_step_plan(StepPlan(**plan.step_plan_fields()))
    peak = measure(lambda: model.train_step(copy.deepcopy(batch), optim))
    assert peak <= budget, (peak, budget, plan.summary())


@pytest.mark.parametrize('value', [True, -1, 1.5, 'none'])
def test_plan_checkpoint_takes_a_count(value):
    """None, False or a count of modules; anything else says what it
    takes."""
    with pytest.raises(ValueError, match='StepPlan.checkpoint must be None'):
        StepPlan(checkpoint=value)
    assert StepPlan(checkpoint=False).checkpoint == 0
    assert StepPlan(checkpoint=3).checkpoint == 3
