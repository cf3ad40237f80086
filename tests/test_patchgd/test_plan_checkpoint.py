"""Checkpoint only what the budget cannot hold (#31): a plan with
``checkpoint=False`` runs θ1 without activation checkpointing, neither the
global patch's (``patch_cfg.with_cp``) nor the host modules' own (mmseg's
U-Net blocks here, ``backbone.with_cp``); the step stays exact, each block
runs forward once a cell, and the modules' flags are theirs again after the
step. The planner turns checkpointing off once every chunk is kept and the
measured step without it fits the budget."""
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


@pytest.mark.parametrize('checkpoint', [None, False])
def test_uncheckpointed_step_is_exact(seg_scope, checkpoint):
    """Every chunk kept, with and without checkpointing: the full
    computation's loss and gradients (float64)."""
    from tests.test_models.test_segmentor import batch, samples_for
    model = _unet(keep=99).double()
    model.set_step_plan(StepPlan(checkpoint=checkpoint))
    shapes, batch_shape = [(64, 80), (40, 50)], (64, 80)
    assert_step_equals_full(model, batch(shapes, batch_shape),
                            samples_for(shapes, batch_shape))
    # the host modules' own switch is theirs again after the step
    assert len(host_checkpointed([model.backbone])) > 0


@pytest.mark.parametrize('checkpoint,forwards,global_forwards',
                         [(None, 2, 3), (False, 1, 1)])
def test_uncheckpointed_step_runs_each_block_once(seg_scope, checkpoint,
                                                  forwards, global_forwards):
    """Every chunk kept: a checkpointed block runs forward again in the
    backward (the global patch, under the engine's checkpoint too, a third
    time); without checkpointing, once."""
    model = _unet(keep=99).train()
    model.set_step_plan(StepPlan(checkpoint=checkpoint))
    # the first block sees the pixels, which need no gradient: mmcv and
    # mmseg checkpoint a block only when its input does
    block = host_checkpointed([model.backbone])[-1]
    calls = []
    conv = next(m for m in block.modules() if isinstance(m, torch.nn.Conv2d))
    conv.register_forward_hook(lambda *a: calls.append(a[1][0].shape[0]))
    model.train_step(_data(), OptimWrapper(torch.optim.SGD(
        model.parameters(), lr=0.01)))
    # 12 cells in 3 chunks of 4, and the 2 global patches in one pass
    assert sum(n for n in calls if n == 4) == forwards * 12
    assert sum(n for n in calls if n == 2) == global_forwards * 2
    assert block.with_cp is True


def _planner_model():
    from tests.test_memory.test_planner import _model_and_batch
    model, batch, optim = _model_and_batch(
        patches_per_iter=None, inner_iters=None, gradient='full',
        fill_chunk=4, with_cp=True)
    model.backbone.apply(lambda m: setattr(m, 'with_cp', True)
                         if hasattr(m, 'with_cp') else None)
    return model, batch, optim


@pytest.mark.parametrize('room,checkpoint', [(0, None), (19, None),
                                             (20, False), (1000, False)])
def test_planner_drops_checkpointing_once_the_budget_holds_it(
        seg_scope, room, checkpoint):
    """Each kept chunk costs 10 MiB, the step without checkpointing 20 MiB
    more: only with every chunk kept and those 20 MiB free is it dropped,
    after one more trial."""
    model, batch, optim = _planner_model()
    seen = []

    def measure(trial):
        trial()
        seen.append((trial.keep_chunks, trial.checkpoint))
        return (100 + 3 * trial.fill_chunk + 10 * trial.keep_chunks +
                (20 if trial.checkpoint is False else 0)) * MiB

    chunks = 2  # 8 cells in chunks of 4
    budget = int((112 + 10 * chunks + room) * MiB / 0.95) + 1
    plan = fit_budget(model, batch, optim, budget, measure)
    assert plan.keep_chunks == chunks
    assert plan.checkpoint is checkpoint
    assert plan.step_plan_fields()['checkpoint'] is checkpoint
    assert seen[-1] == (chunks, False)
    assert plan.predicted_peak <= budget * 0.95
    assert ('without activation checkpointing' in plan.summary()) == (
        checkpoint is False)


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
    assert False not in seen


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
    assert plan.checkpoint is False
    model.set_step_plan(StepPlan(**plan.step_plan_fields()))
    peak = measure(lambda: model.train_step(copy.deepcopy(batch), optim))
    assert peak <= budget, (peak, budget, plan.summary())
    assert model.last_step_stats.kept_chunks == plan.keep_chunks
