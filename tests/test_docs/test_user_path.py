"""The newcomer's path, as docs/get_started.md ("3. Your own data") writes
it: its data command, the copy of the task's config, the two lines it sets
in the copy, and training, run in a fresh copy of ``configs/``; the README
shows the same commands and lines. The segmentation and classification
configs made to be copied read the layouts that page gives them.
"""
import json
import math
import os
import os.path as osp
import re
import shlex
import shutil
import subprocess
import sys

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
GET_STARTED = ('docs/get_started.md', '## 3. Your own data')
README = ('README.md', '## Use it on your data')
FENCE = re.compile(r'```(bash|python)\n(.*?)```', re.S)
#: a schedule short enough for a test; everything else is the page's
SHORT = ['--cfg-options', 'train_cfg.max_iters=2',
         'default_hooks.logger.interval=1']


def user_path(doc, heading):
    """The first bash block (the commands) and the first python block (the
    lines set in the copy) of a doc's section."""
    text = open(osp.join(ROOT, doc), encoding='utf-8').read()
    blocks = {}
    for lang, body in FENCE.findall(text[text.index(heading):]):
        blocks.setdefault(lang, body)
    return blocks['bash'], blocks['python']


def set_lines(path, lines):
    """Set each ``name = value`` line of ``lines`` in the config at ``path``,
    where the config has one line for that name; the names set."""
    text = open(path).read()
    names = []
    for line in lines.strip().splitlines():
        name = line.split('=')[0].strip()
        pattern = re.compile(rf'^{name} = .*$', re.M)
        assert len(pattern.findall(text)) == 1, (path, name)
        text = pattern.sub(lambda _: line, text)
        names.append(name)
    open(path, 'w').write(text)
    return names


def test_readme_shows_the_same_path():
    assert user_path(*README) == user_path(*GET_STARTED)


def test_the_user_path_trains(tmp_path):
    commands, lines = user_path(*GET_STARTED)
    clone = tmp_path / 'clone'
    shutil.copytree(osp.join(ROOT, 'configs'), clone / 'configs')
    os.symlink(osp.join(ROOT, 'tools'), clone / 'tools')
    bin_dir = tmp_path / 'bin'  # `python` in the page is this interpreter
    bin_dir.mkdir()
    (bin_dir / 'python').write_text(
        f'#!/bin/sh\nexec {shlex.quote(sys.executable)} "$@"\n')
    (bin_dir / 'python').chmod(0o755)
    env = dict(os.environ, PATH=f'{bin_dir}{os.pathsep}{os.environ["PATH"]}',
               PYTHONWARNINGS='ignore')
    steps = [line for line in commands.splitlines()
             if line.strip() and not line.lstrip().startswith('#')]
    *before, train = steps
    assert train.split()[:2] == ['python', 'tools/train.py'], train
    for step in before:
        subprocess.run(step, shell=True, cwd=clone, env=env, check=True,
                       stdout=subprocess.DEVNULL, timeout=300)
    copy = train.split()[2]
    assert set_lines(clone / copy, lines) == ['data_root', 'classes']
    out = subprocess.run(train.split() + SHORT, cwd=clone, env=env,
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    work_dir = clone / 'work_dirs' / osp.splitext(osp.basename(copy))[0]
    assert (work_dir / 'iter_2.pth').is_file()
    scalars, = work_dir.glob('*/vis_data/scalars.json')
    losses = [json.loads(line)['loss'] for line in open(scalars)
              if '"loss"' in line]
    assert len(losses) == 2 and all(map(math.isfinite, losses)), losses
    log, = work_dir.glob('*/*.log')
    assert 'Iter(val)' in log.read_text()  # validated at the end


def _datasets(config, lines, scope):
    """The train, val and test datasets of ``config`` with ``lines`` set."""
    import importlib

    from mmengine.config import Config
    from mmengine.registry import DefaultScope
    set_lines(config, lines)
    cfg = Config.fromfile(str(config))
    importlib.import_module(f'{scope}.utils').register_all_modules(False)
    registry = importlib.import_module(f'{scope}.registry').DATASETS
    with DefaultScope.overwrite_default_scope(scope):
        return [registry.build(cfg[f'{split}_dataloader'].dataset)
                for split in ('train', 'val', 'test')]


def test_seg_and_cls_copies_read_their_layouts(tmp_path):
    from mmpatch.datasets.ultradigits import generate_ultradigits
    data = tmp_path / 'digits'
    generate_ultradigits(str(data), canvas_size=256, num_train=2, num_val=2,
                         num_test=0)
    for split in ('train', 'val'):  # a folder a class
        for i, name in enumerate(('even', 'odd')):
            (data / split / name).mkdir(parents=True)
            shutil.copy(data / 'images' / 'val' / f'00000{i}.png',
                        data / split / name)
    shutil.copytree(osp.join(ROOT, 'configs'), tmp_path / 'configs')
    for config, classes, scope in [
            ('seg/unet_patchgd_custom.py', ('background', 'stroke'), 'mmseg'),
            ('cls/resnet_patchgd_custom.py', ('even', 'odd'), 'mmpretrain')]:
        copy = tmp_path / 'configs' / config.replace('custom', 'mydata')
        shutil.copy(tmp_path / 'configs' / config, copy)
        lines = f"data_root = '{data}/'\nclasses = {classes!r}"
        for dataset in _datasets(copy, lines, scope):
            assert len(dataset) == 2, config
            assert tuple(dataset.metainfo['classes']) == classes
