"""tools/benchmark_memory.py: one real run, and the oom classification."""
import importlib.util
import json
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOL = osp.join(REPO, 'tools', 'benchmark_memory.py')

SCHEMA = {
    'method': str,
    'task': str,
    'size': int,
    'patch': (int, type(None)),
    'k': (int, type(None)),
    'peak_train_mb': (float, int, type(None)),
    'peak_infer_mb': (float, int, type(None)),
    'step_s': (float, int, type(None)),
    'infer_s': (float, int, type(None)),
    'status': str,
    'latent_mb': (float, int, type(None)),
    'memory_method': str,
    'config': str,
}


@pytest.fixture(scope='module')
def bench():
    spec = importlib.util.spec_from_file_location('benchmark_memory', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _env():
    env = dict(os.environ)
    env['PYTHONWARNINGS'] = 'ignore:pkg_resources is deprecated'
    return env


def test_cli_ours_and_full_baseline(tmp_path):
    """Mini FCOS on UltraDigits at 256 and 512 px, ours against stock FCOS
    on the full image: 4 subprocesses, every record ok."""
    out, png = tmp_path / 'bench.json', tmp_path / 'bench.png'
    proc = subprocess.run(
        [
            sys.executable, TOOL, 'configs/det/fcos_patchgd_ultradigits.py',
            '--sizes', '256', '512', '--steps', '1', '--baseline', 'full',
            '--threads', '1', '--budget', '1G', '--json',
            str(out), '--plot',
            str(png)
        ],
        cwd=REPO,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    records = json.loads(out.read_text())
    assert len(records) == 4
    for rec in records:
        for key, kind in SCHEMA.items():
            assert key in rec, key
            assert isinstance(rec[key], kind), (key, rec[key])
        assert rec['status'] == 'ok', rec
        assert rec['task'] == 'det'
        assert rec['memory_method'] == 'cpu_dispatch_tracker'
        assert rec['peak_train_mb'] > rec['fixed_mb'] > 0
        assert rec['peak_infer_mb'] > 0 and rec['step_s'] > 0
        assert rec['over_budget'] is False
    by = {(r['method'], r['size']): r for r in records}
    assert set(by) == {('ours', 256), ('full', 256), ('ours', 512),
                       ('full', 512)}
    for size in (256, 512):
        ours, full = by['ours', size], by['full', size]
        assert ours['model'] == 'PatchGlobalDetector'
        assert full['model'] == 'FCOS'
        assert ours['patch'] == 256 and ours['k'] >= 1
        assert ours['latent_mb'] > 0
        assert full['patch'] is None and full['latent_mb'] is None
        # same network: the stock model has the PatchGD-only layers less
        assert full['num_params'] < ours['num_params']
    assert by['ours', 512]['grid'] == [2, 2]
    # Z grows with the image (4x the area, a bit more for the coarse levels)
    assert by['ours', 512]['latent_mb'] > 3 * by['ours', 256]['latent_mb']
    assert png.stat().st_size > 1000
    assert 'train MiB' in proc.stdout  # the table


def test_child_over_memory_limit_is_oom(bench):
    """A subprocess that asks for more than its RLIMIT_AS is recorded as
    oom, not a crash of the tool."""
    child = [
        sys.executable, '-c',
        'import torch; x = torch.empty(2**33, dtype=torch.uint8); x[0] = 1'
    ]
    out = bench.run_child({}, 4 * 2**30, 'cpu', timeout=120, argv=child)
    assert out['status'] == 'oom', out
    assert 'allocate' in out['detail']
    # the same child without a limit would not be oom (not run: 8 GiB)

    killed = [sys.executable, '-c', 'import os; os.kill(os.getpid(), 9)']
    out = bench.run_child({}, None, 'cpu', timeout=60, argv=killed)
    assert out['status'] == 'oom' and 'SIGKILL' in out['detail'], out

    broken = [sys.executable, '-c', 'raise ValueError("bad config key")']
    out = bench.run_child({}, None, 'cpu', timeout=60, argv=broken)
    assert out['status'].startswith('error: ValueError: bad config key')

    slow = [sys.executable, '-c', 'import time; time.sleep(60)']
    out = bench.run_child({}, None, 'cpu', timeout=1, argv=slow)
    assert out['status'].startswith('error: timed out'), out


class _OOMModel(torch.nn.Module):
    """Training allocates, then fails like the CPU allocator; inference
    works."""

    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(1024))  # 4 KiB

    def train_step(self, data, optim_wrapper):
        held = torch.ones(2**18)  # 1 MiB, live in the raising frame
        raise RuntimeError(
            '[enforce fail at alloc_cpu.cpp:127] err == 0. '
            "DefaultCPUAllocator: can't allocate memory: you tried to "
            f'allocate {3 * 2**20} bytes. Error code 12 (Cannot allocate '
            f'memory) {held.shape}')

    def val_step(self, data):
        return [torch.ones(2**16) * 2]


def test_oom_in_training_is_recorded_and_inference_still_measured(
        bench, tmp_path):
    res = {}
    spec = dict(steps=1, out=str(tmp_path / 'r.json'))
    model = _OOMModel()
    optim = torch.optim.SGD(model.parameters(), lr=0.1)
    bench.measure(spec, res, model, optim, {'inputs': []},
                  torch.device('cpu'))
    assert res['status'] == 'oom'
    assert res['train_status'] == 'oom' and res['infer_status'] == 'ok'
    assert 'peak_train_mb' not in res
    # at least the 1 MiB live plus the 3 MiB asked for
    assert res['min_needed_train_mb'] >= 4
    assert res['peak_infer_mb'] > 0.25
    assert json.loads((tmp_path / 'r.json').read_text())['stage'] == 'infer'


def test_classification(bench):
    assert bench.classify_exception(MemoryError()) == 'oom'
    assert bench.classify_exception(
        RuntimeError('CUDA out of memory. Tried to allocate 2.00 GiB')) == \
        'oom'
    assert bench.classify_exception(RuntimeError('std::bad_alloc')) == 'oom'
    status = bench.classify_exception(KeyError('bbox_head'))
    assert status.startswith('error: KeyError') and 'bbox_head' in status
    assert bench.asked_bytes('you tried to allocate 1024 bytes.') == 1024
    assert bench.asked_bytes('Tried to allocate 2.00 GiB') == 2 * 2**30
    assert bench.asked_bytes('no size here') is None
    # a subprocess that reported in full keeps its own status
    assert bench.classify_exit(0, dict(stage='done', status='ok'),
                               '')['status'] == 'ok'
    # killed while training after the setup was reported
    out = bench.classify_exit(-9, dict(stage='train', task='det'), '')
    assert out['status'] == 'oom' and out['train_status'] == 'oom'
    assert out['task'] == 'det' and 'during train' in out['detail']


def test_stock_model_cfg_and_budget(bench):
    cfg = dict(type='PatchGlobalDetector', backbone=dict(type='ResNet'),
               bbox_head=dict(type='FCOSHead'), patch_cfg=dict(),
               latent_channels=64, global_fusion='concat',
               towers_in_patch=True)
    stock = bench.stock_model_cfg(cfg)
    assert stock == dict(type='FCOS', backbone=dict(type='ResNet'),
                         bbox_head=dict(type='FCOSHead'))
    assert cfg['type'] == 'PatchGlobalDetector'  # not modified
    assert bench.stock_model_cfg(dict(
        type='PatchGlobalDetector',
        bbox_head=dict(type='RetinaHead')))['type'] == 'SingleStageDetector'
    seg = bench.stock_model_cfg(dict(
        type='PatchGlobalSegmentor', num_fusion_convs=1, fusion_channels=8,
        latent_channels=8,
        data_preprocessor=dict(type='PatchSegDataPreProcessor', size=None)))
    # the stock model gets the host's float preprocessor back
    assert seg == dict(type='EncoderDecoder', data_preprocessor=dict(
        type='SegDataPreProcessor', size=None))
    cls = bench.stock_model_cfg(dict(type='PatchGlobalClassifier',
                                     latent_channels=8, grid_head=dict()))
    assert cls == dict(type='ImageClassifier',
                       neck=dict(type='GlobalAveragePooling'))
    rec = dict(status='ok', peak_train_mb=900.0, peak_infer_mb=1200.0)
    assert bench.over_budget(rec, 2**30) is True
    assert bench.over_budget(rec, 2 * 2**30) is False
    assert bench.over_budget(dict(status='oom', min_needed_train_mb=3000.0),
                             2**30) is True
    assert bench.over_budget(dict(status='oom'), 2**30) is None
    assert bench.over_budget(dict(status='oom', min_needed_train_mb=900.0),
                             2**30) is None


def test_baseline_cfg_options_apply_to_the_baseline_only(bench):
    args = bench.parse_args([
        'configs/det/fcos_patchgd_ultradigits.py', '--sizes', '1024',
        '--baseline', 'full', '--cfg-options',
        'model.patch_cfg.inner_iters=1', '--baseline-cfg-options',
        'model.backbone.with_cp=True', '--device', 'cpu'
    ])
    ours, full = bench.build_specs(args)
    assert ours['cfg_options'] == {'model.patch_cfg.inner_iters': 1}
    assert full['cfg_options'] == {'model.patch_cfg.inner_iters': 1,
                                   'model.backbone.with_cp': True}
