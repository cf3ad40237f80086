"""``tools/train.py --launcher pytorch`` with two ranks on a CPU (gloo).

issue 8: distributed training goes through mmengine's own Runner: the
config's ``model_wrapper_cfg`` builds :class:`PatchGDDistributedDataParallel`
(which drops the ``device_ids`` that ``Runner.wrap_model`` passes, refused
by torch's DDP for a CPU module), the ``InfiniteSampler`` shards the data,
rank 0 writes the checkpoints. The equality with one process is pinned by
``tests/test_engine/test_distributed.py``.
"""
import os
import subprocess
import sys
import textwrap

import pytest
import torch

from tests.test_engine.test_distributed import WORLD, _free_port
from tests.test_tools.test_resume_sigkill import CONFIG, PATCH_CFGS, REPO

# ------------------------------------------- tools/train.py --launcher pytorch
# mmengine 0.10.7's init_dist('pytorch') calls torch.cuda.set_device(
# LOCAL_RANK) whatever the backend, which fails on a machine without a GPU;
# Runner.setup_env skips init_dist when a process group exists, so on a CPU
# the process group is created first (gloo), then tools/train.py runs as is.
CPU_PRELUDE = '''
import runpy, sys
import torch, torch.distributed as dist
if not torch.cuda.is_available():
    dist.init_process_group('gloo')
sys.argv = ['tools/train.py'] + sys.argv[1:]
runpy.run_path('tools/train.py', run_name='__main__')
'''


FLEXIBLE = """
runner_type = 'FlexibleRunner'
# FlexibleRunner ignores model_wrapper_cfg: the strategy names the wrapper
strategy = dict(type='DDPStrategy',
                model_wrapper=dict(type='PatchGDDistributedDataParallel'))
"""


@pytest.mark.parametrize('runner', ['Runner', 'FlexibleRunner'])
def test_train_py_launcher_pytorch_two_ranks(tmp_path, runner):
    from mmpatch.datasets import generate_ultradigits
    data = tmp_path / 'data'
    generate_ultradigits(str(data), canvas_size=128, num_train=4, num_val=1,
                         num_test=1, min_digit_size=12, max_digit_frac=0.5)
    cfg = tmp_path / 'tiny_unet_ddp.py'
    cfg.write_text(textwrap.dedent(CONFIG).replace(
        'DATA_ROOT', repr(str(data))).replace('MAX_ITERS', '4').replace(
        'PATCH_CFG', repr(PATCH_CFGS['sampled'])) +
        (FLEXIBLE if runner == 'FlexibleRunner' else ''))
    work = tmp_path / 'work'
    port = _free_port()
    procs = []
    for rank in range(WORLD):
        env = dict(os.environ, MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port),
                   RANK=str(rank), WORLD_SIZE=str(WORLD),
                   LOCAL_RANK=str(rank), OMP_NUM_THREADS='1',
                   PYTHONWARNINGS='ignore:pkg_resources is deprecated')
        procs.append(subprocess.Popen(
            [sys.executable, '-c', CPU_PRELUDE, str(cfg), '--launcher',
             'pytorch', '--work-dir', str(work)],
            cwd=REPO, env=env, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True))
    logs = [p.communicate(timeout=240)[0] for p in procs]
    for p, log in zip(procs, logs):
        assert p.returncode == 0, log[-3000:]
    if runner == 'Runner':  # FlexibleRunner logs no environment table
        assert 'Distributed training: True' in logs[0]
        assert 'GPU number: 2' in logs[0]
    assert 'Iter(train) [4/4]' in logs[0]
    import mmpatch  # noqa: F401  (weights-only loading)
    ckpt = torch.load(str(work / 'iter_4.pth'), map_location='cpu')
    state = ckpt['state_dict']
    if runner == 'FlexibleRunner':
        # DDPStrategy saves the wrapper's keys; mmengine's loaders strip
        # 'module.' (revise_keys), so load_from / tools/test.py accept them
        assert all(k.startswith('module.') for k in state)
        state = {k[len('module.'):]: v for k, v in state.items()}
    else:  # Runner saves the module's own keys
        assert not any(k.startswith('module.') for k in state)
    assert int(state['patchgd_step']) == 4
