import copy

import pytest
import torch

from mmpatch.memory import MemoryMeter
from mmpatch.memory.planner import BudgetError, fit_budget
from mmpatch.patchgd import StepPlan
from tests.test_models.test_segmentor import build, samples_for, unet_cfg

MiB = 2**20


def _model_and_batch(optimizer='sgd', **patch):
    from mmengine.optim import OptimWrapper
    patch_cfg = dict(patch_size=32, inner_iters=2, fill_chunk=8,
                     patches_per_iter='auto', memory_budget='1G')
    patch_cfg.update(patch)
    model = build(unet_cfg(patch_cfg=patch_cfg))
    shapes = [(64, 128)]  # 2 x 4 = 8 cells
    batch = dict(inputs=[torch.randint(0, 255, (3, 64, 128),
                                       dtype=torch.uint8)],
                 data_samples=samples_for(shapes, (64, 128)))
    params = model.parameters()
    # plain SGD keeps no state, so the synthetic numbers below stay exact
    optim = OptimWrapper(torch.optim.Adam(params, lr=1e-3) if optimizer ==
                         'adam' else torch.optim.SGD(params, lr=1e-3))
    return model, batch, optim


def test_planner_choice_from_measurements(seg_scope):
    """Synthetic costs: 100 MiB fixed, 10 MiB a patch, 2 MiB a fill patch."""
    model, batch, optim = _model_and_batch()
    before = copy.deepcopy(model.state_dict())
    seen = []

    def measure(trial):
        trial()  # the trial step really runs, then state is restored
        seen.append((trial.k, trial.fill_chunk))
        return (100 + 10 * trial.k + 2 * trial.fill_chunk) * MiB

    budget = int((100 + 10 + 2 + 10 * 3 + 2 * 7) * MiB / 0.95) + 1
    plan = fit_budget(model, batch, optim, budget, measure)
    assert seen == [(1, 1), (2, 1), (1, 8)]
    assert plan.per_patch == 10 * MiB and plan.per_fill_patch == 2 * MiB
    assert (plan.fill_chunk, plan.patches_per_iter) == (8, 4)
    assert plan.predicted_peak <= budget * 0.95
    # nothing the trials did survives: weights, step counter, optimizer
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    # a budget that fits every cell gives k = m * n
    big = fit_budget(model, batch, optim, 10 * 2**30, measure)
    assert big.patches_per_iter == 8


def test_planner_error_names_budget_need_and_knobs(seg_scope):
    model, batch, optim = _model_and_batch()
    with pytest.raises(BudgetError) as err:
        fit_budget(model, batch, optim, 50 * MiB,
                    lambda fn: (fn(), 120 * MiB)[1])
    msg = str(err.value)
    for text in ('50.00 MiB', '120.00 MiB', 'patch_size', 'latent_channels',
                 'batch size'):
        assert text in msg, (text, msg)


def test_planned_step_stays_within_measured_budget(seg_scope):
    """Real measurements: the chosen k's real step fits the budget."""
    model, batch, optim = _model_and_batch()

    def measure(fn):
        with MemoryMeter('cpu', track=[model, optim]) as meter:
            fn()
        return meter.peak_bytes

    one = measure(lambda: None)  # weights only
    budget = one + 6 * MiB
    plan = fit_budget(model, batch, optim, budget, measure)
    assert 1 <= plan.patches_per_iter <= 8
    model.set_step_plan(StepPlan(patches_per_iter=plan.patches_per_iter,
                                 fill_chunk=plan.fill_chunk))
    peak = measure(lambda: model.train_step(copy.deepcopy(batch), optim))
    assert peak <= budget, (peak, budget, plan.summary())


def test_planner_counts_optimizer_state_of_the_first_step(seg_scope):
    """Adam's moments (2x the weights) exist from the first real step on."""
    from mmpatch.memory import tensor_bytes
    model, batch, optim = _model_and_batch('adam')
    weights = tensor_bytes(model)
    plan = fit_budget(model, batch, optim, 10 * 2**30,
                       lambda fn: (fn(), 100 * MiB)[1])
    assert plan.base_peak >= 100 * MiB + 2 * weights * 0.9
    assert not optim.optimizer.state, 'the trials leave no state behind'


def test_planner_full_gradient_chooses_one_chunk(seg_scope):
    """gradient='full': every cell in the one iteration; the planner
    measures one-patch chunks and fill_chunk-patch chunks (the fill and the
    chunked backward alike) and picks the largest chunk that fits."""
    model, batch, optim = _model_and_batch(patches_per_iter=None,
                                           inner_iters=None,
                                           gradient='full', fill_chunk=8)
    seen = []

    def measure(trial):
        trial()
        seen.append((trial.k, trial.fill_chunk, trial.backward_chunk,
                     trial.keep_chunks))
        return (100 + 3 * trial.fill_chunk + 10 * trial.keep_chunks) * MiB

    budget = int((100 + 3 * 5) * MiB / 0.95) + 1
    plan = fit_budget(model, batch, optim, budget, measure)
    # then the chosen chunk without and with one kept chunk (#31)
    assert seen == [(8, 1, 1, 0), (8, 8, 8, 0), (8, 5, 5, 0), (8, 5, 5, 1)]
    assert plan.per_fill_patch == 3 * MiB and plan.per_patch == 0
    assert (plan.fill_chunk, plan.backward_chunk) == (5, 5)
    assert plan.patches_per_iter == 8
    assert plan.per_kept_chunk == 10 * MiB and plan.keep_chunks == 0
    assert plan.step_plan_fields() == dict(patches_per_iter=None,
                                           fill_chunk=5, backward_chunk=5,
                                           keep_chunks=0, checkpoint=None)


def test_planner_keeps_more_chunks_as_the_budget_grows(seg_scope):
    """Each kept chunk costs what one more measured: the budget's room
    above the chosen chunk buys that many, up to every chunk."""
    model, batch, optim = _model_and_batch(patches_per_iter=None,
                                           inner_iters=None,
                                           gradient='full', fill_chunk=4)

    def measure(trial):
        trial()
        return (100 + 3 * trial.fill_chunk + 10 * trial.keep_chunks) * MiB

    kept = []
    for extra in (0, 10, 25, 1000):
        budget = int((112 + extra) * MiB / 0.95) + 1
        plan = fit_budget(model, batch, optim, budget, measure)
        assert plan.fill_chunk == 4
        assert plan.predicted_peak <= budget * 0.95
        kept.append(plan.keep_chunks)
    chunks = -(-plan.batch_cells // 4)
    assert kept == [0, 1, 2, chunks]


def test_planned_full_gradient_step_stays_within_budget(seg_scope):
    """The real step under the CPU meter: 8 cells in chunks of 2; as the
    budget grows the plan keeps more of the 4 chunks with their graphs, and
    the step never passes the budget."""
    model, batch, optim = _model_and_batch(patches_per_iter=None,
                                           inner_iters=None,
                                           gradient='full', fill_chunk=2)

    def measure(fn):
        with MemoryMeter('cpu', track=[model, optim]) as meter:
            fn()
        return meter.peak_bytes

    kept = []
    for room in (2, 3, 4, 8):
        budget = measure(lambda: None) + room * MiB
        plan = fit_budget(model, batch, optim, budget, measure)
        assert plan.fill_chunk == 2
        model.set_step_plan(StepPlan(**plan.step_plan_fields()))
        peak = measure(lambda: model.train_step(copy.deepcopy(batch), optim))
        assert peak <= budget, (peak, budget, plan.summary())
        assert model.last_step_stats.backward_chunk == plan.fill_chunk
        assert model.last_step_stats.kept_chunks == plan.keep_chunks
        kept.append(plan.keep_chunks)
    # more room keeps more chunks; at 8 MiB of room, every one
    assert kept == sorted(kept) and kept[0] < kept[-1]
    assert kept[-1] == -(-plan.batch_cells // plan.fill_chunk) == 4


def test_planner_measures_the_chunks_it_keeps(seg_scope):
    """A kept chunk's cost is not linear (the peak moves to the backward as
    more graphs are held): the first costs 10 MiB, each after it 40. With
    35 MiB of room the linear estimate keeps 3 of 4 (136 MiB); the planner
    measures 3 (196 MiB), then 2 (156), both over, and keeps 1 (116)."""
    model, batch, optim = _model_and_batch(patches_per_iter=None,
                                           inner_iters=None,
                                           gradient='full', fill_chunk=2)
    seen = []

    def measure(trial):
        trial()
        seen.append(trial.keep_chunks)
        keep = trial.keep_chunks
        return (100 + 3 * trial.fill_chunk + 10 * min(keep, 1) +
                40 * max(0, keep - 1)) * MiB

    budget = int((106 + 35) * MiB / 0.95) + 1
    plan = fit_budget(model, batch, optim, budget, measure)
    assert plan.fill_chunk == 2 and plan.num_chunks == 4
    assert seen[-4:] == [0, 1, 3, 2]
    assert plan.keep_chunks == 1
    assert plan.predicted_peak == 116 * MiB <= budget * 0.95
