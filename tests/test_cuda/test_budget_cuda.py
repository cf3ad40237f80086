"""The memory planner honours memory_budget on CUDA: 20 iterations of a
real Runner over a data set mixing 256 px and 512 px images, every
iteration's ``torch.cuda.max_memory_allocated`` (read around the iteration
alone) and every logged peak under the budget; the plan made for the large
images before the first, small batch. The CPU version and the helpers are
in tests/test_engine/test_budget_mixed.py."""
import pytest

from tests.test_cuda import CUDA
from tests.test_engine.test_budget_mixed import (check_mixed, make_mixed,
                                                 run_mixed, run_too_small)

pytestmark = CUDA
SMALL, LARGE, ITERS = 256, 512, 20


@pytest.fixture(scope='module')
def mixed_data(tmp_path_factory):
    return make_mixed(str(tmp_path_factory.mktemp('mixed_cuda')), SMALL,
                      LARGE)


def test_budget_held_on_cuda_mixed_sizes(seg_scope, mixed_data, tmp_path):
    res = run_mixed(mixed_data, str(tmp_path), 'cuda', SMALL, LARGE, ITERS)
    check_mixed(res, SMALL, LARGE, ITERS)
    allocated = [r['max_allocated'] for r in res.records]
    assert len(allocated) == ITERS
    assert max(allocated) <= res.budget, (allocated, res.budget)


def test_budget_too_small_on_cuda_stops_before_training(seg_scope,
                                                        mixed_data,
                                                        tmp_path):
    run_too_small(mixed_data, str(tmp_path), 'cuda', SMALL, LARGE)
