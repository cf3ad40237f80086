"""The CUDA memory meter against a known allocation pattern: baseline,
peak and current to the byte, nested meters included."""
import pytest
import torch

from mmpatch.memory import MemoryMeter
from mmpatch.memory.meter import METHOD_CUDA
from tests.test_cuda import CUDA

pytestmark = CUDA
MIB = 2**20


def alloc(mib: int) -> torch.Tensor:
    # whole MiB: the caching allocator rounds blocks to 512 bytes, so
    # memory_allocated grows by exactly this much
    return torch.empty(mib * MIB, dtype=torch.uint8, device='cuda')


@pytest.fixture
def base():
    torch.cuda.synchronize()
    torch.cuda.empty_cache()
    return torch.cuda.memory_allocated()


def test_known_pattern(base):
    keep = alloc(3)
    with MemoryMeter('cuda', track=[keep]) as meter:
        assert meter.method == METHOD_CUDA
        a = alloc(4)
        b = alloc(8)
        del b
        c = alloc(2)
        assert meter.peak_bytes == base + 15 * MIB  # read while running
        del a
    assert meter.baseline_bytes == base + 3 * MIB  # track is not needed
    assert meter.peak_bytes == base + 15 * MIB
    assert meter.peak_delta_bytes == 12 * MIB
    assert meter.current_bytes == base + 5 * MIB
    del c, keep


def test_nested_meters(base):
    with MemoryMeter('cuda') as outer:
        a = alloc(4)
        b = alloc(6)
        del b  # outer's peak (base + 10) comes before the inner meter
        with MemoryMeter('cuda') as inner:
            c = alloc(2)
            d = alloc(1)
            del d
        assert inner.baseline_bytes == base + 4 * MIB
        assert inner.peak_bytes == base + 7 * MIB
        assert inner.current_bytes == base + 6 * MIB
        e = alloc(1)
        del a, c, e
    # the inner meter's reset of the device peak did not hide outer's
    assert outer.baseline_bytes == base
    assert outer.peak_bytes == base + 10 * MIB
    assert outer.current_bytes == base


def test_reset_while_running(base):
    with MemoryMeter('cuda') as outer:
        a = alloc(8)
        del a
        with MemoryMeter('cuda') as inner:
            b = alloc(2)
            inner.reset()  # the baseline becomes the present
            c = alloc(1)
        assert inner.baseline_bytes == base + 2 * MIB
        assert inner.peak_bytes == base + 3 * MIB
        del b, c
    assert outer.peak_bytes == base + 8 * MIB


def test_sequential_meters_do_not_see_earlier_peaks(base):
    with MemoryMeter('cuda') as first:
        a = alloc(8)
        del a
    keep = alloc(2)
    with MemoryMeter('cuda') as second:
        pass
    assert first.peak_bytes == base + 8 * MIB
    assert second.baseline_bytes == second.peak_bytes == base + 2 * MIB
    del keep
