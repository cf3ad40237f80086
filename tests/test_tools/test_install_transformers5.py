"""mmpatch beside transformers 5: mmpretrain 1.2.0 turns its multimodal
models on whenever pycocotools and transformers>=4.28 are installed, and
with transformers 5 they fail at import (``TypeError: NoneType takes no
arguments``), taking ``import mmdet.models`` and the install's import
check down. tools/install.sh patches the switch
(``install_kit.py patch-mmpretrain``, docs/install.md)."""
import os
import os.path as osp
import subprocess
import sys

import pytest

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
KIT = osp.join(REPO, 'tools', 'install_kit.py')
sys.path.insert(0, osp.join(REPO, 'tools'))
import install_kit  # noqa: E402

sys.path.remove(osp.join(REPO, 'tools'))


def test_patch_changes_the_switch_once(tmp_path):
    path = tmp_path / 'dependency.py'
    path.write_text('WITH_MULTIMODAL = all(\n    satisfy_requirement(item)\n'
                    + install_kit.MULTIMODAL[0] + '\n')
    assert 'off with transformers>=5' in install_kit.patch_mmpretrain(
        str(path))
    assert install_kit.MULTIMODAL[1] in path.read_text()
    assert 'already patched' in install_kit.patch_mmpretrain(str(path))
    other = tmp_path / 'other.py'
    other.write_text('WITH_MULTIMODAL = False\n')
    assert 'left alone' in install_kit.patch_mmpretrain(str(other))
    assert other.read_text() == 'WITH_MULTIMODAL = False\n'


def _transformers5(cache):
    """A pip --target folder holding transformers 5 (downloaded once into
    the cache; None where no package index answers)."""
    target = osp.join(cache, 'transformers5')
    if not osp.isdir(osp.join(target, 'transformers')):
        run = subprocess.run(
            [sys.executable, '-m', 'pip', 'install', '-q', '--no-compile',
             '--target', target, 'transformers>=5,<6'],
            capture_output=True, text=True, timeout=600)
        if run.returncode != 0:
            return None
    # transformers' own dependencies only: never a second numpy or torch
    for name in os.listdir(target):
        if name.startswith(('numpy', 'torch', 'bin')):
            subprocess.run(['rm', '-rf', osp.join(target, name)])
    return target


def test_import_check_passes_beside_transformers_5():
    cache = os.environ.get('MMPATCH_CACHE') or osp.join(
        os.environ.get('XDG_CACHE_HOME') or osp.expanduser('~/.cache'),
        'mmpatch')
    target = _transformers5(cache)
    if target is None:
        pytest.skip('no transformers 5 wheel: pip could not reach a '
                    'package index')
    env = dict(os.environ, PYTHONPATH=f'{target}:{REPO}', OMP_NUM_THREADS='1')
    version = subprocess.run(
        [sys.executable, '-c', 'import transformers; '
         'print(transformers.__version__)'], capture_output=True, text=True,
        env=env)
    assert version.stdout.startswith('5.'), version.stderr[-1000:]
    # what tools/install.sh runs last: the patch, then the import check
    # (mmdet, mmseg and mmpretrain models, mmpatch's adapters)
    for cmd in ('patch-mmpretrain', 'check'):
        run = subprocess.run([sys.executable, KIT, cmd], capture_output=True,
                             text=True, env=env, cwd='/tmp', timeout=600)
        assert run.returncode == 0, run.stderr[-2000:]
    assert '[install] ok' in run.stdout and 'mmpretrain 1.2.0' in run.stdout
