"""Shared fixtures: each host library's default scope, and exactness checks."""
import copy
import os
from contextlib import contextmanager

# Processes that tests start (CLI runs, DDP ranks) get one OpenMP thread: two
# of them with two spinning threads each on a 2-core machine run small ops
# ~10x slower. The pytest process itself, idle while they run, keeps its
# cores.
os.environ.setdefault('OMP_NUM_THREADS', '1')

import pytest  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(int(os.environ.get('MMPATCH_TEST_THREADS',
                                         os.cpu_count() or 1)))


@pytest.fixture(autouse=True)
def restore_global_instances():
    """Each test starts from the named instances (default scope, message
    hubs, loggers, visualizers) the one before it found.

    A Runner built in a test makes its scope current for the rest of the
    process (mmengine keeps the latest DefaultScope instance), and a
    registry lookup by another library's name then resolves in that scope
    (an mmdet 'ResNet' built as mmpretrain's). Runners are named by their
    start time to the second, and a Runner with a name another one used
    gets that one's MessageHub (scalar history included) and logger (CI: a
    hook test counted 7 logged peaks for 4 iterations). Results would
    depend on the order and the speed tests run at.
    """
    from mmengine.utils import ManagerMixin

    def managed(cls):  # every class whose instances mmengine keeps by name
        for sub in cls.__subclasses__():
            yield sub
            yield from managed(sub)

    kept = [(cls, cls._instance_dict.copy()) for cls in managed(ManagerMixin)]
    yield
    for cls, before in kept:
        cls._instance_dict.clear()
        cls._instance_dict.update(before)


@contextmanager
def host_scope(scope: str):
    """Build and run models of one host library inside its default scope.

    All three libraries share mmengine's global default scope; tests of
    different libraries run in one process, so each test enters its own.
    """
    import importlib

    from mmengine.registry import DefaultScope
    importlib.import_module(f'{scope}.utils').register_all_modules(
        init_default_scope=False)
    with DefaultScope.overwrite_default_scope(scope):
        yield


@pytest.fixture
def seg_scope():
    import mmpatch.models.segmentor  # noqa: F401
    with host_scope('mmseg'):
        yield


@pytest.fixture
def det_scope():
    import mmpatch.models.detector  # noqa: F401
    with host_scope('mmdet'):
        yield


@pytest.fixture
def cls_scope():
    import mmpatch.models.classifier  # noqa: F401
    with host_scope('mmpretrain'):
        yield


def freeze_batchnorm(model: torch.nn.Module) -> None:
    """BatchNorm in eval mode (running statistics), the rest in train mode."""
    model.train()
    for m in model.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            m.eval()


def assert_step_equals_full(model, inputs, data_samples, atol=1e-6,
                            train_bn=False):
    """The exactness contract of docs/method.md.

    ``model`` must be float64, with ``k = m * n`` and ``I = 1`` (or
    ``gradient='full'``). One PatchGD ``train_step`` (real ``OptimWrapper``,
    SGD with lr=1, so the update is minus the gradient) must give the loss
    and every parameter gradient of the full computation ``model.loss``
    over all patches with gradients. BatchNorm is in eval mode, or with
    ``train_bn`` in train mode, where the running statistics the step
    leaves must equal those of the full computation too.
    """
    from mmengine.model import BaseDataPreprocessor
    from mmengine.optim import OptimWrapper

    # keep float64, on the model's device (tests/test_cuda runs it on CUDA)
    model.data_preprocessor = BaseDataPreprocessor().to(
        next(model.parameters()).device)
    if train_bn:
        model.train()
    else:
        freeze_batchnorm(model)
    ref = copy.deepcopy(model)
    losses = ref.loss(inputs, copy.deepcopy(data_samples))
    ref_loss, _ = ref.parse_losses(losses)
    ref_loss.backward()
    ref_grads = {
        n: (p.grad if p.grad is not None else torch.zeros_like(p))
        for n, p in ref.named_parameters()
    }

    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=1.0))
    log_vars = model.train_step(
        dict(inputs=inputs, data_samples=copy.deepcopy(data_samples)), optim)
    assert abs(float(log_vars['loss']) - float(ref_loss)) < atol
    checked = 0
    for n, p in model.named_parameters():
        grad = before[n] - p.detach()
        torch.testing.assert_close(
            grad, ref_grads[n], atol=atol, rtol=1e-6, msg=lambda m: f'{n}: {m}')
        checked += int(ref_grads[n].abs().sum() > 0)
    # a contract that compares zeros proves nothing
    assert checked > 0.8 * len(before), f'only {checked} params have gradients'
    if train_bn:
        ref_buffers = dict(ref.named_buffers())
        stats = 0
        for n, b in model.named_buffers():
            if n.endswith(('running_mean', 'running_var')):
                torch.testing.assert_close(b, ref_buffers[n], atol=atol,
                                           rtol=1e-6, msg=lambda m: f'{n}: {m}')
                stats += 1
        assert stats > 0, 'no BatchNorm statistics compared'
    return float(ref_loss)
