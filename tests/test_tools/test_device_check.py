"""tools/device_check.sh's orchestration on a CPU, its GPU steps replaced by
fast fakes (``--dry-run``): order, outputs within the device tool's limits,
skips by estimate, failures, the safety-net timeout, the exit status."""
import json
import os
import os.path as osp
import subprocess
import sys

import pytest

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
ORDER = ['install', 'cuda_tests', 'bench_fcos_r50', 'bench_fcos_r50_full',
         'bench_unet_ultradigits',
         'bench_panda_r50', 'train_det_ultradigits']


def check(tmp_path, *args):
    out = tmp_path / 'out'
    proc = subprocess.run(
        [sys.executable, 'tools/analysis_tools/device_check.py', '--dry-run',
         '--out', str(out), '--work', str(tmp_path / 'work'), *args],
        cwd=REPO, capture_output=True, text=True, timeout=300)
    result = json.load(open(out / 'device_check.json'))
    log = open(out / 'device_check.log').read()
    return proc, result, log, out


@pytest.fixture(scope='module')
def plain_run(tmp_path_factory):
    return check(tmp_path_factory.mktemp('plain'), '--budget', '200')


def test_dry_run_runs_every_step_in_order(plain_run):
    proc, result, log, out = plain_run
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert [s['name'] for s in result['steps']] == ORDER
    assert all(s['status'] == 'ok' for s in result['steps'])
    starts = [log.index(f'start {name} ') for name in ORDER]
    assert starts == sorted(starts)
    # what the device tool brings back: at most 8 files, each < 16 MiB
    files = os.listdir(out)
    assert sorted(files) == ['device_check.json', 'device_check.log']
    assert all(osp.getsize(out / f) < 16 * 2**20 for f in files)
    assert result['dry_run'] is True and result['budget_s'] == 200
    assert result['machine']['torch'] and 'date' in result['machine']
    assert result['date'] == result['machine']['date']
    assert set(result['benchmarks']) == {'fcos_r50', 'fcos_r50_full',
                                         'unet_ultradigits', 'panda_r50'}
    assert {r['size'] for r in result['benchmarks']['fcos_r50']} == {
        2048, 4096, 8192}
    tests = result['steps'][1]['result']
    assert tests['passed'] == 2 and tests['failed'] == 0
    assert result['configs']['fcos_r50'] == 'configs/det/fcos_patchgd_sodad.py'
    # each step's own output is in the log, after its start line
    assert log.index('fake bench_panda_r50') > log.index(
        'start bench_panda_r50')


def test_step_estimated_over_its_share_is_skipped(tmp_path):
    proc, result, log, _ = check(tmp_path, '--budget', '200', '--estimate',
                                 'bench_panda_r50=1000')
    assert proc.returncode == 0  # a skip is not a failure
    step = {s['name']: s for s in result['steps']}
    assert step['bench_panda_r50']['status'] == 'skipped'
    assert 'seconds' not in step['bench_panda_r50']  # never started
    line = next(l for l in proc.stdout.splitlines()
                if 'skip bench_panda_r50' in l)
    assert 'estimated 1000 s >' in line and 'left of its share' in line
    assert line.split('] ', 1)[1] in log
    # the others ran, the optional training too
    assert step['train_det_ultradigits']['status'] == 'ok'
    assert 'panda_r50' not in result['benchmarks']


def test_failed_step_sets_exit_status_and_the_rest_runs(tmp_path):
    proc, result, _, _ = check(tmp_path, '--budget', '200', '--fake-fail',
                               'bench_unet_ultradigits')
    assert proc.returncode == 1
    status = {s['name']: s['status'] for s in result['steps']}
    assert status['bench_unet_ultradigits'] == 'failed'
    assert status['bench_panda_r50'] == 'ok'


def test_failed_install_skips_everything_after(tmp_path):
    proc, result, _, _ = check(tmp_path, '--budget', '200', '--fake-fail',
                               'install')
    assert proc.returncode == 1
    assert [s['status'] for s in result['steps']] == ['failed'] + [
        'skipped'] * (len(ORDER) - 1)
    assert result['steps'][1]['reason'] == 'install failed'


def test_safety_net_stops_an_overrunning_step(tmp_path):
    """A step that runs past the budget is killed by the safety net and
    marked 'timed out' (its estimate let it start)."""
    proc, result, _, _ = check(tmp_path, '--budget', '20', '--only',
                               'bench_panda_r50', '--estimate',
                               'bench_panda_r50=1', '--fake-sleep',
                               'bench_panda_r50=60')
    assert proc.returncode == 1
    (step, ) = result['steps']
    assert step['status'] == 'timed out'
    assert step['seconds'] < 15


def test_help_and_missing_wheels(tmp_path):
    proc = subprocess.run(['bash', 'tools/device_check.sh', '--help'],
                          cwd=REPO, capture_output=True, text=True,
                          env=dict(os.environ, PYTHON=sys.executable))
    assert proc.returncode == 0
    for word in ('--wheels', '--dry-run', 'bench_fcos_r50', 'share'):
        assert word in proc.stdout
    proc = subprocess.run(
        [sys.executable, 'tools/analysis_tools/device_check.py', '--wheels',
         str(tmp_path / 'none'), '--out', str(tmp_path / 'o')], cwd=REPO,
        capture_output=True, text=True)
    assert proc.returncode == 2 and 'no wheel folder' in proc.stdout


@pytest.fixture
def gpu_report():
    sys.path.insert(0, osp.join(REPO, 'tools', 'analysis_tools'))
    import gpu_report
    yield gpu_report
    sys.path.remove(osp.join(REPO, 'tools', 'analysis_tools'))


def test_gpu_section_not_yet_measured(gpu_report, tmp_path):
    text = gpu_report.render_gpu_section(str(tmp_path))
    assert text.startswith('## On a GPU')
    assert 'Not yet measured on a GPU' in text
    # a dry run does not count as a GPU measurement
    (tmp_path / 'dry.json').write_text(json.dumps(dict(
        schema=1, dry_run=True, machine=dict(cuda_available=True))))
    assert 'Not yet measured' in gpu_report.render_gpu_section(str(tmp_path))


def test_gpu_section_from_a_run(gpu_report, plain_run, tmp_path):
    result = json.loads(json.dumps(plain_run[1]))
    result.update(dry_run=False, date='2027-01-02T03:04:05+00:00')
    result['machine'].update(cuda_available=True, gpu='NVIDIA H200',
                             gpu_memory_mib=143771, driver='580.1')
    gpu_dir = tmp_path / 'gpu'
    gpu_dir.mkdir()
    (gpu_dir / 'device_check.json').write_text(json.dumps(result))
    text = gpu_report.render_gpu_section(str(gpu_dir))
    assert 'Not yet measured' not in text
    assert '2027-01-02' in text and 'NVIDIA H200' in text
    assert 'driver 580.1' in text and 'torch ' in text
    assert 'CUDA tests (`pytest -m cuda`): 2 passed, 0 failed' in text
    # fake figures at 4096: ours 520 MiB, full 20000 MiB
    assert '| 4096 | 520 | 20000 | 38.5× |' in text
    assert '- ≤ 1 GiB: 520 MiB, **met**' in text
    assert '20000 / 520 MiB = 38.5×, **met**' in text
    assert '(weights + gradients + optimizer state + Z): 520 MiB' in text
    assert '`configs/seg/unet_patchgd_ultradigits.py`' in text
    # written into a page in place of the old section, idempotently
    page = tmp_path / 'page.md'
    page.write_text('# B\n\n## On a GPU\n\nold\n\n## Next\n\ntext\n')
    gpu_report.write_gpu_section(str(page), str(gpu_dir))
    gpu_report.write_gpu_section(str(page), str(gpu_dir))
    body = page.read_text()
    assert body.count('## On a GPU') == 1 and 'old' not in body
    assert body.endswith('## Next\n\ntext\n') and 'NVIDIA H200' in body


def test_benchmarks_page_has_the_rendered_gpu_section(gpu_report):
    text = open(osp.join(REPO, 'docs', 'benchmarks.md')).read()
    section = gpu_report.render_gpu_section(osp.join(REPO, 'docs', 'gpu'))
    assert section.rstrip('\n') in text


def test_train_step_reads_the_runs_scalars(tmp_path, monkeypatch):
    """The optional training step's JSON: the last training record and the
    validation record of the run's mmengine scalars.json."""
    monkeypatch.syspath_prepend(osp.join(osp.dirname(osp.dirname(
        osp.dirname(osp.abspath(__file__)))), 'tools', 'analysis_tools'))
    import device_steps
    assert device_steps.train_scalars(str(tmp_path)) is None
    vis = tmp_path / '20261204_000000' / 'vis_data'
    vis.mkdir(parents=True)
    (vis / 'scalars.json').write_text('\n'.join(json.dumps(r) for r in [
        dict(loss=2.0, step=10), dict(loss=1.5, step=60,
                                      **{'memory/peak_mb': 70.0}),
        {'coco/bbox_mAP': 0.1, 'step': 60}]) + '\n')
    got = device_steps.train_scalars(str(tmp_path))
    assert got['train'] == {'loss': 1.5, 'step': 60, 'memory/peak_mb': 70.0}
    assert got['val'] == {'coco/bbox_mAP': 0.1, 'step': 60}
    train = device_steps.step_commands(
        'train_det_ultradigits', type('A', (), dict(
            python='py', dry_run=False, work='/w'))(), 'script')[1]
    assert train[1] == 'tools/train.py' and osp.exists(osp.join(
        device_steps.osp.dirname(device_steps.__file__), '..', '..',
        device_steps.CONFIGS['det_ultradigits']))
