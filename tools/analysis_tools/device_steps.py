"""The steps of ``tools/device_check.sh`` (``device_check.py`` runs them):
the configs, the benchmark runs, each step's share of the budget, its
commands, what it leaves for the JSON, and a dry run's fake of it."""
import glob
import json
import os.path as osp
import sys
import time
import xml.etree.ElementTree as ET

# a sibling module: Python puts the script's folder first on sys.path
from gpu_report import fake_records

#: every config the check uses, in one place
CONFIGS = dict(
    fcos_r50='configs/det/fcos_patchgd_sodad.py',
    fcos_r50_full='configs/det/fcos_patchgd_sodad_full.py',
    unet_ultradigits='configs/seg/unet_patchgd_ultradigits.py',
    panda_r50='configs/cls/resnet50_patchgd_panda.py',
    det_ultradigits='configs/det/fcos_patchgd_ultradigits.py')
#: the optional training step's length (iterations, validated at the end)
TRAIN_ITERS = 60

K1 = ['model.patch_cfg.inner_iters=1', 'model.patch_cfg.patches_per_iter=1']
#: tools/analysis_tools/benchmark_memory.py runs: (config, arguments); each
#: run's records go to device_check.json's "benchmarks" under its name
BENCH = dict(
    # ours at k = 1 against the stock full-image FCOS-R50 (no with_cp)
    fcos_r50=(CONFIGS['fcos_r50'], [
        '--sizes', '2048', '4096', '8192', '--baseline', 'full',
        '--cfg-options', *K1, '--baseline-cfg-options',
        'model.backbone.with_cp=False']),
    # ours with gradient='full' (every cell, re-encoded one patch at a time)
    fcos_r50_full=(CONFIGS['fcos_r50_full'],
                   ['--sizes', '2048', '4096', '8192', '--baseline', 'none']),
    unet_ultradigits=(CONFIGS['unet_ultradigits'],
                      ['--sizes', '2048', '4096', '--baseline', 'full']),
    panda_r50=(CONFIGS['panda_r50'],
               ['--sizes', '4096', '--baseline', 'full']),
)
#: one warm-up step, one measured, one timed without the meter
BENCH_COMMON = ['--device', 'cuda', '--steps', '3', '--memory-limit', '0',
                '--timeout', '300']

#: (name, share of the budget in s, prior estimate in s, optional)
STEPS = [
    ('install', 40, 30, False),
    ('cuda_tests', 110, 100, False),
    ('bench_fcos_r50', 110, 110, False),
    ('bench_fcos_r50_full', 40, 40, False),
    ('bench_unet_ultradigits', 45, 40, False),
    ('bench_panda_r50', 30, 30, False),
    ('train_det_ultradigits', 60, 90, True),  # only with time left over
]


def step_commands(name, a, script):
    """The commands of a step (run one after the other); ``script``: the
    orchestrator, which runs a dry run's fake steps."""
    py = a.python
    if a.dry_run:
        return [[sys.executable, script, '--fake-step', name,
                 '--work', a.work, '--fake-sleep', *a.fake_sleep,
                 '--fake-fail', *a.fake_fail]]
    if name == 'install':
        return [['bash', 'tools/install.sh']]
    if name == 'cuda_tests':
        return [[py, '-m', 'pytest', 'tests/test_cuda', '-m', 'cuda', '-q',
                 '-rs', '-p', 'no:cacheprovider', '--junitxml',
                 osp.join(a.work, 'cuda_tests.xml')]]
    if name.startswith('bench_'):
        config, args = BENCH[name[6:]]
        return [[py, 'tools/analysis_tools/benchmark_memory.py', config,
                 *args,
                 *BENCH_COMMON, '--json', osp.join(a.work, f'{name}.json')]]
    if name == 'train_det_ultradigits':
        return [[py, 'tools/make_ultradigits.py', '--out', 'data/ultradigits'],
                [py, 'tools/train.py', CONFIGS['det_ultradigits'],
                 '--work-dir', osp.join(a.work, 'train_det'), '--cfg-options',
                 f'train_cfg.max_iters={TRAIN_ITERS}',
                 f'train_cfg.val_interval={TRAIN_ITERS}']]
    raise KeyError(name)


def collect(name, work):
    """What a finished step leaves in ``work``, for the JSON."""
    if name == 'cuda_tests' and osp.exists(osp.join(work, 'cuda_tests.xml')):
        tests = []
        for case in ET.parse(osp.join(work, 'cuda_tests.xml')).iter(
                'testcase'):
            kinds = [c.tag for c in case]
            outcome = ('failed' if {'failure', 'error'} & set(kinds) else
                       'skipped' if 'skipped' in kinds else 'passed')
            tests.append(dict(name=f'{case.get("classname")}::'
                              f'{case.get("name")}', outcome=outcome,
                              seconds=round(float(case.get('time', 0)), 2)))
        return dict(tests=tests, **{k: sum(t['outcome'] == k for t in tests)
                                    for k in ('passed', 'failed', 'skipped')})
    if name.startswith('bench_'):
        path = osp.join(work, f'{name}.json')
        return json.load(open(path)) if osp.exists(path) else None
    if name == 'train_det_ultradigits':
        return train_scalars(osp.join(work, 'train_det'))
    return None


def train_scalars(work_dir):
    """A training run's logged scalars (mmengine's vis_data/scalars.json):
    its last training record (loss, time, memory/peak_mb) and its
    validation record; None while the run left none."""
    paths = sorted(glob.glob(osp.join(work_dir, '*', 'vis_data',
                                      'scalars.json')))
    if not paths:
        return None
    records = [json.loads(line) for line in open(paths[-1]) if line.strip()]
    train = [r for r in records if 'loss' in r]
    val = [r for r in records if 'loss' not in r]
    return dict(train=train[-1] if train else None,
                val=val[-1] if val else None)


def fake_step(a) -> int:
    """A dry run's stand-in for a step: sleeps, then writes what the real
    step would (fake numbers of the real shape)."""
    name = a.fake_step
    print(f'fake {name}: the real step is: a dry run')
    time.sleep(dict((k, float(v)) for k, v in (
        e.split('=') for e in a.fake_sleep)).get(name, 0.1))
    if name == 'cuda_tests':
        ET.ElementTree(ET.fromstring(
            '<testsuites><testsuite><testcase classname="tests.test_cuda.'
            'test_meter_cuda" name="test_known_pattern" time="0.5"/>'
            '<testcase classname="tests.test_cuda.test_amp_cuda" '
            'name="test_amp_step[seg-float16]" time="1.5"/></testsuite>'
            '</testsuites>')).write(osp.join(a.work, 'cuda_tests.xml'))
    elif name.startswith('bench_'):
        with open(osp.join(a.work, f'{name}.json'), 'w') as f:
            json.dump(fake_records(name[6:]), f)
    return 1 if name in a.fake_fail else 0
