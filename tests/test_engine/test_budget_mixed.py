"""MemoryBudgetHook over a data set that mixes two image sizes (issue #21):
the plan is made for the larger images before training although the first
batch is small, every iteration's logged peak stays under the budget, and a
budget too small for the larger images stops the run before training.

The budgets are set from the planner's own measurements on this device
(:func:`calibrate`), so the test binds (k below the whole grid) wherever it
runs; ``tests/test_cuda/test_budget_cuda.py`` runs the same on CUDA.
"""
import itertools
import os
import os.path as osp
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from tests.test_engine.test_hooks import runner_cfg

MARGIN = 0.05  # MemoryBudgetHook's default
_RUNS = itertools.count()


def make_mixed(root: str, small: int, large: int, count: int = 3) -> str:
    """``count`` random images of ``small`` px (named a*, so the first batch
    of an unshuffled loader is small) and ``count`` of ``large`` px (b*),
    with binary masks, in the layout ``runner_cfg`` reads."""
    import cv2
    rng = np.random.default_rng(0)
    for sub in ('images/train', 'masks/train'):
        os.makedirs(osp.join(root, sub), exist_ok=True)
    for prefix, side in (('a', small), ('b', large)):
        for i in range(count):
            img = rng.integers(0, 256, (side, side, 3), dtype=np.uint8)
            cv2.imwrite(osp.join(root, 'images/train', f'{prefix}{i}.png'),
                        img)
            cv2.imwrite(osp.join(root, 'masks/train', f'{prefix}{i}.png'),
                        (img[..., 0] > 127).astype(np.uint8))
    return root


def mixed_cfg(root: str, work_dir: str, budget, max_iters: int,
              hook=None):
    """The tiny U-Net run of test_hooks, unshuffled, k planned by budget."""
    cfg = runner_cfg(root, work_dir, max_iters=max_iters, hook=hook,
                     patches_per_iter='auto', memory_budget=budget)
    cfg.train_dataloader.sampler.shuffle = False
    # runners made within one second would share a message hub
    cfg.experiment_name = f'mixed_{os.getpid()}_{next(_RUNS)}'
    return cfg


def calibrate(cfg, device) -> dict:
    """The planner's measurements on a batch of two small and a batch of
    two large images of ``cfg``'s data set, with the model and optimizer
    the run builds (keyed by image side)."""
    from mmengine.dataset import pseudo_collate
    from mmengine.optim import OptimWrapper
    from mmseg.registry import DATASETS, MODELS

    from mmpatch.memory import MemoryMeter
    from mmpatch.memory.planner import fit_budget
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model).to(device)
    optim = OptimWrapper(torch.optim.Adam(model.parameters(), lr=1e-3))

    from mmpatch.datasets.sizes import sample_size
    by_side = {}
    for i in range(len(dataset)):
        side, _ = sample_size(dataset.get_data_info(i))
        by_side.setdefault(side, []).append(i)
    plans = {}
    for side, indices in by_side.items():
        batch = pseudo_collate([dataset[i] for i in indices[:2]])

        def measure(trial) -> int:  # as MemoryBudgetHook measures
            with MemoryMeter(device=device,
                             track=[model, optim, batch]) as meter:
                trial()
            return meter.peak_bytes

        plans[side] = fit_budget(model, batch, optim, 2**40, measure)
    return plans


def record_hook():
    """A hook class that notes, before each iteration, the batch's grid
    cells and the plan the model runs it with; on CUDA also
    ``max_memory_allocated`` over the iteration alone (reset after
    MemoryLoggerHook starts its meter, read after it stops)."""
    from mmengine.hooks import Hook
    from mmengine.registry import HOOKS

    @HOOKS.register_module(force=True)
    class RecordIterationsHook(Hook):
        # after MemoryLoggerHook (NORMAL, 50) has started its meter and
        # stopped it, before LoggerHook (BELOW_NORMAL, 60), whose
        # get_max_cuda_memory resets the CUDA peak counter
        priority = 55
        records: list = []

        def before_train_iter(self, runner, batch_idx, data_batch=None):
            from mmengine.model import is_model_wrapper

            from mmpatch.engine.hooks.memory_budget import batch_cells
            model = runner.model
            if is_model_wrapper(model):
                model = model.module
            plan = model.step_plan
            self.records.append(dict(
                cells=batch_cells(data_batch, model.patch_cfg.patch_size),
                planned_cells=plan.planned_cells,
                k=plan.patches_per_iter))
            if torch.cuda.is_available() and next(
                    model.parameters()).is_cuda:
                torch.cuda.reset_peak_memory_stats()

        def after_train_iter(self, runner, batch_idx, data_batch=None,
                             outputs=None):
            model = runner.model
            if next(model.parameters()).is_cuda:
                self.records[-1]['max_allocated'] = (
                    torch.cuda.max_memory_allocated())

    RecordIterationsHook.records = []
    return RecordIterationsHook


def run_mixed(root, work_dir, device, small, large, iters):
    """Calibrate, then train ``iters`` iterations under a budget that fits
    about half the large images' cells; returns what the test checks."""
    import mmpatch.models.segmentor  # noqa: F401
    from mmengine.runner import Runner
    plans = calibrate(mixed_cfg(root, work_dir, '1T', 1), device)
    big = plans[large]
    usable = big.base_peak + big.per_patch * (big.num_cells // 2)
    budget = int(usable / (1 - MARGIN)) + 1
    hook_cls = record_hook()
    cfg = mixed_cfg(root, work_dir, budget, iters,
                    hook=dict(type=hook_cls.__name__))
    runner = Runner.from_cfg(cfg)
    runner.train()
    budget_hook = next(h for h in runner.hooks
                       if type(h).__name__ == 'MemoryBudgetHook')
    log = open(osp.join(runner.log_dir, f'{runner.timestamp}.log')).read()
    peaks = runner.message_hub.get_scalar('train/memory/peak_mb').data[0]
    return SimpleNamespace(plans=plans, budget=budget, hook=budget_hook,
                           records=hook_cls.records, log=log,
                           peaks_mb=list(peaks), runner=runner)


def check_mixed(res, small, large, iters):
    big = res.plans[large]
    cells_small = res.plans[small].num_cells
    # the first batch is small, yet the model ran it with the plan made
    # before training for two large images, and never planned again
    first = res.records[0]
    assert first['cells'] == 2 * cells_small < 2 * big.num_cells
    assert first['planned_cells'] == 2 * big.num_cells
    assert res.hook.fit.batch_cells == 2 * big.num_cells
    assert 'planning again' not in res.log
    assert res.log.index('memory plan:') < res.log.index('Iter(train)')
    # the budget binds: k is below the large images' grid
    assert 1 <= res.hook.fit.patches_per_iter < big.num_cells
    assert {r['cells'] for r in res.records} >= {2 * cells_small,
                                                 2 * big.num_cells}
    assert len(res.peaks_mb) == iters
    assert all(p * 2**20 <= res.budget for p in res.peaks_mb), (
        res.peaks_mb, res.budget)


def run_too_small(root, work_dir, device, small, large):
    """A budget between what k = 1 needs for the small and for the large
    images: the run must stop in before_train, with the planner's error."""
    import mmpatch.models.segmentor  # noqa: F401
    from mmengine.runner import Runner

    from mmpatch.memory.planner import BudgetError
    plans = calibrate(mixed_cfg(root, work_dir, '1T', 1), device)
    usable = (plans[small].base_peak + plans[large].base_peak) // 2
    # a plan on the first (small) batch would have passed
    assert plans[small].base_peak < usable < plans[large].base_peak
    budget = int(usable / (1 - MARGIN))
    runner = Runner.from_cfg(mixed_cfg(root, work_dir, budget, 4))
    with pytest.raises(BudgetError, match='too small') as err:
        runner.train()
    assert runner.iter == 0
    assert 'train/memory/peak_mb' not in runner.message_hub.log_scalars
    return str(err.value)


#: where mmengine's Runner puts the model (CUDA on a GPU machine, where
#: these tests then run there too)
DEVICE = 'cuda' if torch.cuda.is_available() else 'cpu'


@pytest.fixture(scope='module')
def mixed_data(tmp_path_factory):
    return make_mixed(str(tmp_path_factory.mktemp('mixed')), 64, 128)


def test_mixed_sizes_planned_for_largest_and_held(seg_scope, mixed_data,
                                                  tmp_path):
    res = run_mixed(mixed_data, str(tmp_path), DEVICE, 64, 128, iters=8)
    check_mixed(res, 64, 128, iters=8)
    if DEVICE == 'cpu':
        # the plan's prediction bounds every iteration (here it is the
        # large batches' measured peak to the byte)
        assert max(res.peaks_mb) * 2**20 <= res.hook.fit.predicted_peak


def test_mixed_sizes_budget_too_small_stops_before_training(
        seg_scope, mixed_data, tmp_path):
    msg = run_too_small(mixed_data, str(tmp_path), DEVICE, 64, 128)
    assert '16 cells per image' in msg  # the large images' grid
    assert not osp.exists(osp.join(str(tmp_path), 'iter_1.pth'))


def test_peak_over_budget_raises_with_the_numbers():
    """An iteration whose logged peak passed the budget stops the run at
    the next hook call, naming the peak and the budget."""
    from mmengine.logging import MessageHub

    from mmpatch.engine.hooks import BudgetExceededError, MemoryBudgetHook
    from mmpatch.engine.hooks.memory_logger import PEAK_KEY
    from mmpatch.memory.planner import BudgetFit
    hook = MemoryBudgetHook()
    hook.budget = 10 * 2**20
    hook.fit = BudgetFit(budget=hook.budget, patches_per_iter=2,
                           fill_chunk=4, predicted_peak=9 * 2**20,
                           base_peak=8 * 2**20, per_patch=2**19,
                           per_fill_patch=0, num_cells=16)
    hub = MessageHub.get_instance('test_peak_over_budget')
    runner = SimpleNamespace(message_hub=hub, iter=7)
    hub.update_scalar(PEAK_KEY, 9.5)  # under: passes
    hook._pending = True
    hook.after_train(runner)
    hub.update_scalar(PEAK_KEY, 12.5)
    hook._pending = True
    with pytest.raises(BudgetExceededError) as err:
        hook.before_train_iter(runner, 7, None)
    msg = str(err.value)
    assert 'iteration 7' in msg
    assert 'measured peak 12.50 MiB' in msg
    assert 'memory_budget=10.00 MiB' in msg
    assert 'predicted 9.00 MiB' in msg


def test_loader_batch_size_with_a_batch_sampler():
    """With mmdet's AspectRatioBatchSampler the DataLoader's batch_size is
    None: the plan is made for the sampler's batch, not for one image."""
    from torch.utils.data import BatchSampler, DataLoader, SequentialSampler

    from mmpatch.engine.hooks.memory_budget import loader_batch_size
    data = list(range(6))
    assert loader_batch_size(DataLoader(data, batch_size=3)) == 3
    sampler = BatchSampler(SequentialSampler(data), 2, False)
    loader = DataLoader(data, batch_sampler=sampler)
    assert loader.batch_size is None
    assert loader_batch_size(loader) == 2


def test_full_gradient_budget_plans_the_chunk(seg_scope, mixed_data,
                                              tmp_path):
    """gradient='full' under a budget: the hook plans the chunk (the fill's
    and the backward's) on the largest images, the model runs with it, and
    every logged peak stays under the budget."""
    import mmpatch.models.segmentor  # noqa: F401
    from mmengine.runner import Runner

    def cfg_for(budget, iters):
        # 64 px patches: a chunk's activations, not θ2's, make the peak
        cfg = runner_cfg(mixed_data, str(tmp_path), max_iters=iters,
                         patch_size=64, gradient='full', inner_iters=None,
                         sample_fraction=None, fill_chunk=8,
                         memory_budget=budget)
        cfg.train_dataloader.sampler.shuffle = False
        cfg.experiment_name = f'full_{os.getpid()}_{next(_RUNS)}'
        return cfg

    probe = Runner.from_cfg(cfg_for('1T', 1))
    probe.train()
    loose = next(h for h in probe.hooks
                 if type(h).__name__ == 'MemoryBudgetHook').fit
    assert loose.backward_chunk == 8 and loose.per_fill_patch > 0
    usable = loose.base_peak + loose.per_fill_patch * 2  # a chunk of 3
    budget = int(usable / (1 - MARGIN)) + 1
    runner = Runner.from_cfg(cfg_for(budget, 4))
    runner.train()
    plan = next(h for h in runner.hooks
                if type(h).__name__ == 'MemoryBudgetHook').fit
    assert plan.fill_chunk == plan.backward_chunk == 3
    assert runner.model.step_plan.backward_chunk == 3
    assert runner.model.last_step_stats.backward_chunk == 3
    peaks = runner.message_hub.get_scalar('train/memory/peak_mb').data[0]
    assert len(peaks) == 4 and all(p * 2**20 <= budget for p in peaks)
