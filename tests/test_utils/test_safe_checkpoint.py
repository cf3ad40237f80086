"""Weights-only checkpoint loading of mmengine checkpoints (torch >= 2.6).

A real ``Runner`` saves and resumes under ``torch.load``'s default
``weights_only=True``; a checkpoint whose pickle calls an arbitrary function
is refused, through mmengine's loader and through a Runner, without running
it.
"""
import io
import os
import subprocess
import sys
import zipfile

import numpy as np
import pytest
import torch
import torch.nn as nn
from mmengine.hooks import Hook
from mmengine.logging import HistoryBuffer
from mmengine.model import BaseModel
from mmengine.runner import Runner
from mmengine.runner.checkpoint import (CheckpointLoader, _load_checkpoint,
                                        load_checkpoint)
from torch.utils.data import Dataset

from mmpatch.utils import (UnsafeCheckpointError,
                           enable_safe_checkpoint_loading, safe_globals)

enable_safe_checkpoint_loading()


@pytest.fixture(autouse=True)
def _weights_only(monkeypatch):
    # the point of these tests: nothing turns weights-only loading off
    monkeypatch.delenv('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', raising=False)
    assert 'TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD' not in os.environ


# ----------------------------------------------------------- toy training --
class ToyModel(BaseModel):

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(2, 1)
        self.bn = nn.BatchNorm1d(1)

    def forward(self, inputs, labels=None, mode='tensor'):
        out = self.bn(self.linear(torch.stack(inputs))).squeeze(1)
        if mode == 'loss':
            return dict(loss=((out - torch.stack(labels))**2).mean())
        return out


class ToyDataset(Dataset):
    # numpy values in the metainfo end up in the checkpoint's meta
    metainfo = dict(
        classes=('a', 'b'),
        palette=[(1, 2, 3), (4, 5, 6)],
        weights=np.array([0.5, 2.0]),
        scale=np.float32(1.5))

    def __init__(self):
        gen = torch.Generator().manual_seed(0)
        self.x = torch.randn(16, 2, generator=gen)
        self.y = self.x.sum(1)

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return dict(inputs=self.x[i], labels=self.y[i])


class RecordIters(Hook):
    """Records the iteration training starts from and each one it runs."""

    def __init__(self):
        self.start = None
        self.ran = []

    def before_train(self, runner):
        self.start = runner.iter

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        self.ran.append(runner.iter)


def make_runner(work_dir, name, max_iters, resume=False, load_from=None,
                scheduler='LinearLR'):
    schedulers = dict(
        LinearLR=[
            dict(type='LinearLR', start_factor=0.5, by_epoch=False, end=2),
            dict(type='MultiStepLR', milestones=[3, 5], by_epoch=False),
        ],
        OneCycleLR=[
            dict(type='OneCycleLR', eta_max=0.1, total_steps=8,
                 by_epoch=False)
        ])
    recorder = RecordIters()
    runner = Runner(
        model=ToyModel(),
        work_dir=str(work_dir),
        experiment_name=name,  # a fresh MessageHub / logger per runner
        train_dataloader=dict(
            dataset=ToyDataset(),
            sampler=dict(type='DefaultSampler', shuffle=True),
            batch_size=2,  # 8 iterations an epoch: no dataloader restart
            num_workers=0),
        optim_wrapper=dict(
            optimizer=dict(type='AdamW', lr=0.01, weight_decay=0.01)),
        param_scheduler=schedulers[scheduler],
        train_cfg=dict(by_epoch=False, max_iters=max_iters),
        default_hooks=dict(
            checkpoint=dict(type='CheckpointHook', interval=2, by_epoch=False),
            logger=dict(type='LoggerHook', interval=1)),
        custom_hooks=[recorder],
        randomness=dict(seed=0),
        resume=resume,
        load_from=load_from)
    return runner, recorder


@pytest.mark.parametrize('scheduler', ['LinearLR', 'OneCycleLR'])
@pytest.mark.parametrize('auto', [False, True], ids=['path', 'auto'])
def test_runner_saves_and_resumes_weights_only(tmp_path, scheduler, auto):
    runner, rec = make_runner(tmp_path, f'first_{scheduler}_{auto}', 4,
                              scheduler=scheduler)
    runner.train()
    assert rec.ran == [0, 1, 2, 3]  # runner.iter counts done iterations
    ckpt = tmp_path / 'iter_4.pth'
    assert ckpt.is_file()

    # what a Runner writes loads with weights_only=True, with HistoryBuffers,
    # numpy arrays/scalars, the optimizer and the scheduler states intact
    loaded = torch.load(ckpt, weights_only=True)
    assert set(loaded) >= {
        'meta', 'state_dict', 'message_hub', 'optimizer', 'param_schedulers'
    }
    assert loaded['meta']['iter'] == 4 and loaded['meta']['seed'] == 0
    meta = loaded['meta']['dataset_meta']
    assert isinstance(meta['weights'], np.ndarray)
    assert meta['scale'] == np.float32(1.5)
    loss = loaded['message_hub']['log_scalars']['train/loss']
    assert isinstance(loss, HistoryBuffer) and len(loss.data[0]) == 4
    assert loss.statistics('mean') == pytest.approx(loss.data[0].mean())

    runner2, rec2 = make_runner(
        tmp_path,
        f'second_{scheduler}_{auto}',
        8,
        resume=True,
        load_from=None if auto else str(ckpt),
        scheduler=scheduler)
    runner2.train()
    assert rec2.start == 4  # runner.iter right after resuming
    assert rec2.ran == [4, 5, 6, 7]
    assert runner2.iter == 8
    assert torch.load(tmp_path / 'iter_8.pth')['meta']['iter'] == 8
    # the optimizer state came back (AdamW's step counter went on from 4)
    state = runner2.optim_wrapper.optimizer.state_dict()['state']
    assert int(next(iter(state.values()))['step']) == 8


def test_without_mmpatch_torch_refuses_mmengine_checkpoints(tmp_path):
    """What ``enable_safe_checkpoint_loading`` fixes (fresh process)."""
    buf = HistoryBuffer()
    buf.update(1.0)
    torch.save({'message_hub': {'log_scalars': {'loss': buf}}},
               tmp_path / 'plain.pth')
    code = ('import sys, pickle, torch\n'
            'try:\n'
            '    torch.load(sys.argv[1])\n'
            'except pickle.UnpicklingError as e:\n'
            '    print(e)\n')
    env = {
        k: v
        for k, v in os.environ.items()
        if k != 'TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD'
    }
    out = subprocess.run([sys.executable, '-c', code,
                          str(tmp_path / 'plain.pth')],
                         capture_output=True, text=True, env=env, check=True)
    assert 'mmengine.logging.history_buffer.HistoryBuffer' in out.stdout


def test_enable_is_idempotent_and_registers_the_list():
    enable_safe_checkpoint_loading()
    enable_safe_checkpoint_loading()
    registered = torch.serialization.get_safe_globals()
    for entry in safe_globals():
        if isinstance(entry, tuple):
            # compare by name: the inert class reference is a fresh object
            assert entry[1] in [e[1] for e in registered
                                if isinstance(e, tuple)]
        else:
            assert entry in registered
    # the local-file loader is mmpatch's (it only rewrites the error)
    loader = CheckpointLoader._get_checkpoint_loader('/some/file.pth')
    assert loader.__module__ == 'mmpatch.utils.safe_checkpoint'


def test_numpy1_pickles_load(tmp_path):
    """Checkpoints written under numpy 1.x name ``numpy.core.multiarray``."""
    path = tmp_path / 'np.pth'
    torch.save({'a': np.arange(3.0), 's': np.float64(2.5)}, path)
    # rewrite the pickle as numpy 1.x writes it
    src = zipfile.ZipFile(path)
    out = io.BytesIO()
    with zipfile.ZipFile(out, 'w', zipfile.ZIP_STORED) as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename.endswith('data.pkl'):
                assert b'numpy._core.multiarray' in data
                data = data.replace(b'numpy._core.multiarray',
                                    b'numpy.core.multiarray')
            dst.writestr(info, data)
    src.close()
    path.write_bytes(out.getvalue())
    loaded = torch.load(path, weights_only=True)
    assert np.array_equal(loaded['a'], [0.0, 1.0, 2.0])
    assert loaded['s'] == 2.5 and isinstance(loaded['s'], np.float64)


# -------------------------------------------------------- malicious files --
def write_marker(path):
    """What the malicious checkpoint tries to run while being unpickled."""
    with open(path, 'w') as f:
        f.write('pwned')
    return {}


class Payload:

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (write_marker, (self.path, ))


class GetattrPayload:
    """Reaches for an attribute the restricted ``getattr`` must refuse."""

    def __reduce__(self):
        return (getattr, (HistoryBuffer, '__init__'))


def _malicious_checkpoint(tmp_path, payload):
    path = tmp_path / 'evil.pth'
    torch.save(
        {
            'meta': {'iter': 2, 'epoch': 0},
            'state_dict': ToyModel().state_dict(),
            'message_hub': {'log_scalars': {}, 'runtime_info': {},
                            'resumed_keys': {}},
            'extra': payload,
        }, path)
    return path


def test_malicious_checkpoint_is_refused(tmp_path):
    marker = tmp_path / 'marker'
    path = _malicious_checkpoint(tmp_path, Payload(str(marker)))
    global_name = f'{__name__}.write_marker'

    with pytest.raises(UnsafeCheckpointError) as info:
        load_checkpoint(ToyModel(), str(path))
    msg = str(info.value)
    assert str(path) in msg
    assert global_name in msg
    assert 'weights_only' in msg and 'add_safe_globals' in msg
    print(msg)  # shown with pytest -s

    with pytest.raises(UnsafeCheckpointError, match='write_marker'):
        CheckpointLoader.load_checkpoint(str(path))
    with pytest.raises(UnsafeCheckpointError, match='write_marker'):
        _load_checkpoint(str(path), map_location='cpu')
    # still the error type torch raises
    with pytest.raises(__import__('pickle').UnpicklingError):
        _load_checkpoint(str(path))
    assert not marker.exists()


def test_malicious_checkpoint_is_refused_on_resume(tmp_path):
    marker = tmp_path / 'marker'
    path = _malicious_checkpoint(tmp_path, Payload(str(marker)))
    runner, rec = make_runner(
        tmp_path, 'evil_resume', 4, resume=True, load_from=str(path))
    with pytest.raises(UnsafeCheckpointError) as info:
        runner.train()
    assert str(path) in str(info.value)
    assert 'write_marker' in str(info.value)
    assert rec.ran == []  # no training step ran
    assert not marker.exists()


def test_getattr_is_restricted(tmp_path):
    path = _malicious_checkpoint(tmp_path, GetattrPayload())
    with pytest.raises(UnsafeCheckpointError,
                       match=r"getattr\(.*HistoryBuffer.*'__init__'\)"):
        _load_checkpoint(str(path))
