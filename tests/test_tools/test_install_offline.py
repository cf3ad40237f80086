"""tools/install.sh offline from a wheel folder (WHEELS) into an interpreter
that already has torch, as on the GPU machine: a fresh virtual environment,
then an import check that must find the stack where the install put it.

Hermetic as far as this machine allows; nothing is downloaded:

* "the machine": a fresh venv of this interpreter's base Python whose only
  packages, beyond pip and setuptools, are a mirror (symlinks) of this
  environment's site-packages *less* everything the wheel folder provides
  (the OpenMMLab stack, addict, yapf, ...): torch, numpy, opencv, scipy
  and the rest stand for what the GPU machine has;
* the wheel folder: the pure-Python wheels of the GPU machine's kit
  (``../shared/device``, or ``$MMPATCH_WHEELS``) that this Python can
  install, plus the mmcv wheel that tools/install.sh cached for this torch
  (CPU ops; the kit's is for Python 3.12). Without either the test skips.

What stays outside: the kit was built elsewhere, and torch comes from this
environment (a GPU machine's torch is its own, never reinstalled).
"""
import os
import os.path as osp
import re
import subprocess
import sys
import time
import zipfile

import pytest

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, osp.join(REPO, 'tools'))
import install_kit  # noqa: E402

sys.path.remove(osp.join(REPO, 'tools'))


def kit_dir():
    for path in (os.environ.get('MMPATCH_WHEELS'), osp.join(REPO, '.wheels'),
                 osp.join(REPO, '..', 'shared', 'device')):
        if path and osp.isdir(path) and install_kit.wheels(path):
            return path
    return None


def cached_mmcv():
    cache = os.environ.get('MMPATCH_CACHE') or osp.join(
        os.environ.get('XDG_CACHE_HOME') or osp.expanduser('~/.cache'),
        'mmpatch')
    import torch
    py = f'cp{sys.version_info[0]}{sys.version_info[1]}'
    root = osp.join(cache, 'wheels', 'mmcv-2.1.0',
                    f'torch-{torch.__version__}')
    for sub in (osp.join('ops-cpu', py), py):  # new key, then the old one
        found = install_kit.find_mmcv(osp.join(root, sub)) if osp.isdir(
            osp.join(root, sub)) else None
        if found:
            return found
    return None


def site_packages():
    return next(p for p in sys.path if p.endswith('site-packages')
                and osp.isdir(osp.join(p, 'torch')))


def build_machine(tmp, kit, mmcv):
    """The wheel folder, the mirror of "the machine's" packages, and a
    fresh venv that sees the mirror."""
    wheels = osp.join(tmp, 'wheels')
    os.makedirs(wheels)
    for _, _, path in install_kit.wheels(kit):
        if not osp.basename(path).startswith('mmcv-'):
            os.symlink(osp.realpath(path),
                       osp.join(wheels, osp.basename(path)))
    os.symlink(mmcv, osp.join(wheels, osp.basename(mmcv)))
    provided, dists = set(), set()
    for name, _, path in install_kit.wheels(wheels):
        dists.add(name)
        with zipfile.ZipFile(path) as z:
            provided |= {n.split('/')[0] for n in z.namelist()}
    mirror = osp.join(tmp, 'machine')
    os.makedirs(mirror)
    site = site_packages()
    for entry in os.listdir(site):
        if entry.endswith('.dist-info'):
            dist = install_kit.norm(entry[:-10].rsplit('-', 1)[0])
            if dist in dists or dist in ('mmpatch', 'pip'):
                continue
        elif (entry in provided or entry.endswith('.pth')
              or re.match(r'(__editable__|mmpatch|pip$|__pycache__)',
                          entry)):
            continue
        os.symlink(osp.join(site, entry), osp.join(mirror, entry))
    venv = osp.join(tmp, 'venv')
    subprocess.run([sys._base_executable, '-m', 'venv', venv], check=True)
    py = osp.join(venv, 'bin', 'python')
    venv_site = subprocess.run(
        [py, '-c',
         'import sysconfig; print(sysconfig.get_paths()["purelib"])'],
        capture_output=True, text=True, check=True).stdout.strip()
    with open(osp.join(venv_site, 'machine.pth'), 'w') as f:
        f.write(mirror + '\n')
    return wheels, venv, py


@pytest.fixture(scope='module')
def machine(tmp_path_factory):
    kit, mmcv = kit_dir(), cached_mmcv()
    if kit is None or mmcv is None:
        pytest.skip('needs the GPU kit of pure-Python wheels (../shared/'
                    'device or $MMPATCH_WHEELS) and the mmcv wheel that '
                    'tools/install.sh cached for this torch')
    tmp = str(tmp_path_factory.mktemp('offline'))
    return (tmp, *build_machine(tmp, kit, mmcv))


def sources(out):
    """Where install.sh's import check found each library."""
    line = next(l for l in out.splitlines() if l.startswith('[install] from:'))
    return dict(item.split(' ', 1) for item in line[16:].split(', '))


def run_install(env, tmp):
    env = {k: v for k, v in env.items() if k != 'PYTHONPATH'}
    env.update(MMPATCH_CACHE=osp.join(tmp, 'cache'), PIP_NO_INDEX='1')
    t0 = time.monotonic()
    proc = subprocess.run(['bash', 'tools/install.sh'], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout + proc.stderr, time.monotonic() - t0


def test_offline_install_target_mode(machine):
    """TARGET: pip --target for the interpreter itself (the device check's
    way); torch and what the interpreter has are kept."""
    tmp, wheels, _, py = machine
    target = osp.join(tmp, 'site')
    out, took = run_install(dict(os.environ, PYTHON=py, TARGET=target,
                                 WHEELS=wheels), tmp)
    assert 'present: kept (never reinstalled)' in out
    assert 'ok: torch' in out and 'done in' in out
    # install.sh's import check (tools/install_kit.py check) imported the
    # stack and mmpatch's models from where the install put them
    found = sources(out)
    assert found.pop('torch') == osp.join(tmp, 'machine')
    assert set(found.values()) == {target}, found
    assert not osp.exists(osp.join(target, 'torch'))
    print(f'TARGET install: {took:.1f} s')


def test_offline_install_system_site_venv(machine):
    """SYSTEM_SITE=1 on a venv that already sees torch: the stack goes into
    the venv, mmpatch editable."""
    tmp, wheels, venv, py = machine
    out, took = run_install(dict(os.environ, SYSTEM_SITE='1', VENV=venv,
                                 WHEELS=wheels), tmp)
    assert 'mode: present, offline from' in out and 'ok: torch' in out
    found = sources(out)
    assert found.pop('torch') == osp.join(tmp, 'machine')
    assert all(p.startswith(venv) for p in found.values()), found
    print(f'SYSTEM_SITE install: {took:.1f} s')


def test_select_keeps_what_the_interpreter_has(tmp_path):
    """Of a folder's wheels: the OpenMMLab pins always, never torch, not
    what is present (numpy), setuptools only without pkg_resources, a
    missing distribution yes, wheels for another Python no."""
    names = ['torch-2.0.0-cp311-cp311-linux_x86_64.whl',
             'numpy-1.0.0-py3-none-any.whl',
             'setuptools-81.0.0-py3-none-any.whl',
             'mmengine-0.10.7-py3-none-any.whl',
             'mmdet-3.2.0-py3-none-any.whl', 'mmdet-3.3.0-py3-none-any.whl',
             'mmsegmentation-1.2.2-py3-none-any.whl',
             'mmpretrain-1.2.0-py2.py3-none-any.whl',
             'mmcv-2.1.0-cp311-cp311-linux_x86_64.whl',
             'not_here_pkg-1.0-py3-none-any.whl',
             'other_py-1.0-cp27-cp27mu-linux_x86_64.whl']
    for name in names:
        (tmp_path / name).write_bytes(b'')
    chosen = sorted(osp.basename(p)
                    for p in install_kit.select(str(tmp_path)))
    assert chosen == ['mmdet-3.3.0-py3-none-any.whl',
                      'mmengine-0.10.7-py3-none-any.whl',
                      'mmpretrain-1.2.0-py2.py3-none-any.whl',
                      'mmsegmentation-1.2.2-py3-none-any.whl',
                      'not_here_pkg-1.0-py3-none-any.whl']
    assert install_kit.find_mmcv(str(tmp_path)).endswith(names[8])
    (tmp_path / 'mmengine-0.10.7-py3-none-any.whl').unlink()
    with pytest.raises(SystemExit, match=r'mmengine==0.10.7'):
        install_kit.select(str(tmp_path))


def test_mmcv_wheel_ops_and_cache_key(tmp_path, monkeypatch):
    for ops, blob in (('cuda', b'..__cudaRegisterFatBinary..'),
                      ('cpu', b'plain')):
        path = tmp_path / f'{ops}.whl'
        with zipfile.ZipFile(path, 'w') as z:
            z.writestr('mmcv/_ext.cpython-311-x86_64-linux-gnu.so', blob)
        assert install_kit.wheel_ops(str(path)) == ops
    import torch
    monkeypatch.delenv('FORCE_CUDA', raising=False)
    if not torch.cuda.is_available():
        assert install_kit.mmcv_key().split()[0].split('/')[1] == 'ops-cpu'
    monkeypatch.setenv('FORCE_CUDA', '1')
    monkeypatch.setenv('TORCH_CUDA_ARCH_LIST', '8.0;9.0+PTX')
    key, archs = install_kit.mmcv_key().split()
    assert key.split('/')[1] == 'ops-cuda-sm80-90ptx'
    assert key.startswith(f'torch-{torch.__version__}/')
    assert archs == '8.0;9.0+PTX'
