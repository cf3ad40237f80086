"""tools/analysis_tools/benchmark_memory.py (and its modules in
``membench/``): one real run, the oom classification, the breakdown's
phases."""
import importlib
import json
import os
import os.path as osp
import subprocess
import sys
import types

import pytest
import torch

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOLS = osp.join(REPO, 'tools', 'analysis_tools')
TOOL = osp.join(TOOLS, 'benchmark_memory.py')

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
    """The tool's modules, imported as the script imports them (its folder
    on ``sys.path``), as one namespace."""
    sys.path.insert(0, TOOLS)
    try:
        names = {}
        for mod in ('failures', 'runner', 'models', 'measure', 'records',
                    'phases', 'batch'):
            module = importlib.import_module(f'membench.{mod}')
            names.update({k: v for k, v in vars(module).items()
                          if not k.startswith('_')})
        cli = importlib.import_module('benchmark_memory')
        names.update(parse_args=cli.parse_args, main=cli.main)
        yield types.SimpleNamespace(**names)
    finally:
        sys.path.remove(TOOLS)


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


def _tiny_unet(**patch_cfg):
    from tests.test_models.test_segmentor import unet_cfg
    return unet_cfg(patch_cfg=dict(patch_size=32, fill_chunk=2, **patch_cfg),
                    global_fusion='concat')


#: one tiny U-Net per way through the step; together they meet every phase
BREAKDOWN_MODELS = {
    'sampled': (_tiny_unet(inner_iters=2, sample_fraction=0.5),
                {'sample', 'patch_encode', 'scatter'}),
    'full': (_tiny_unet(gradient='full'), {'chunk_backward'}),
    'sampled_chunked_once': (
        _tiny_unet(inner_iters=2, sample_fraction=0.5, backward_chunk=2,
                   global_grad='once'),
        {'sample', 'chunk_encode', 'chunk_backward', 'global_backward'}),
}


@pytest.fixture
def one_thread():
    """Tiny ops under the CPU meter: two spinning threads on a busy 2-core
    machine make them several times slower."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.parametrize('name', list(BREAKDOWN_MODELS))
def test_breakdown_records_the_documented_phases(bench, seg_scope, one_thread,
                                                 tmp_path, name):
    """--breakdown on a sampled, a full-gradient and a chunked sampled step
    (global_grad='once'): each records the phases its path meets, by the
    documented names, and the three together record every documented one
    (the old tool wrapped LatentBuffer.scatter, which the step never
    calls, so 'scatter' was never recorded)."""
    from mmengine.optim import build_optim_wrapper
    from mmseg.registry import MODELS
    cfg, own = BREAKDOWN_MODELS[name]
    torch.manual_seed(0)
    model = MODELS.build(cfg)
    optim = build_optim_wrapper(model, dict(
        type='OptimWrapper', optimizer=dict(type='SGD', lr=0.01)))
    batch = bench.make_batch('seg', 64, 64, 2, 2)
    res = {}
    bench.measure(dict(steps=1, out=str(tmp_path / 'r.json'), breakdown=True),
                  res, model, optim, batch, torch.device('cpu'))
    assert res['status'] == 'ok', res
    assert res['gradient'] == ('full' if name == 'full' else 'sampled')
    shared = {'preprocess', 'fill', 'global', 'head_loss', 'backward',
              'optim_step', 'other'}
    train = res['breakdown']['train']
    assert set(train['peak_mb']) == shared | own, sorted(train['peak_mb'])
    assert set(train['s']) == set(train['peak_mb'])
    assert all(v > 0 for v in train['peak_mb'].values())
    assert set(res['breakdown']['infer']['peak_mb']) == set(
        bench.INFER_PHASES)
    # the wrapped host methods are put back
    assert 'forward' not in vars(model.data_preprocessor)


def test_every_documented_phase_is_met_by_a_breakdown_model(bench):
    met = {'preprocess', 'fill', 'global', 'head_loss', 'backward',
           'optim_step', 'other'}
    for _, own in BREAKDOWN_MODELS.values():
        met |= own
    assert met == set(bench.TRAIN_PHASES)
    doc = open(TOOL).read()
    for phase in bench.TRAIN_PHASES:
        assert f'``{phase}``' in doc, phase
