"""Every ``tools/...`` path named in a tracked file exists (the tools moved
into tools/analysis_tools/ in issue #18; a stale name is a broken command).
"""
import os.path as osp
import re
import subprocess

import pytest

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
#: ``tools/`` and what follows, not inside another path (``tests/test_tools``,
#: a library's ``.mim/tools``)
PATH = re.compile(r'(?<![\w/.-])tools/[\w./-]*')


def tracked_files():
    try:
        out = subprocess.run(['git', 'ls-files'], cwd=ROOT, check=True,
                             capture_output=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip('not a git checkout')
    return [p for p in out.splitlines()
            if not p.endswith(('.png', '.jpg', '.pth', '.whl', '.pkl'))]


def tool_paths(text: str):
    for match in PATH.findall(text):
        path = match.rstrip('.,;:)/`\'"')
        if path != 'tools' and '.' in osp.basename(path) or \
                match.endswith('/'):
            yield path


def missing_tool_paths():
    missing = {}
    me = osp.relpath(osp.abspath(__file__), ROOT)  # names paths as data
    for rel in (f for f in tracked_files() if f != me):
        try:
            text = open(osp.join(ROOT, rel), encoding='utf-8').read()
        except (UnicodeDecodeError, FileNotFoundError, IsADirectoryError):
            continue
        for path in tool_paths(text):
            if not osp.exists(osp.join(ROOT, path)):
                missing.setdefault(path, []).append(rel)
    return missing


def test_every_tool_path_in_tracked_files_exists():
    missing = missing_tool_paths()
    assert not missing, '\n'.join(f'{p}: named in {", ".join(sorted(set(f)))}'
                                  for p, f in sorted(missing.items()))


def test_the_checker_finds_paths():
    text = ('python tools/analysis_tools/benchmark_memory.py, see '
            'tests/test_tools/test_cli.py and tools/dataset_converters/ or '
            'tools/train.py.')
    assert list(tool_paths(text)) == [
        'tools/analysis_tools/benchmark_memory.py',
        'tools/dataset_converters', 'tools/train.py']


if __name__ == '__main__':  # the checker alone: python tests/test_docs/...
    for path, files in sorted(missing_tool_paths().items()):
        print(f'missing {path}: named in {", ".join(sorted(set(files)))}')
    print('checked every tools/... path of the tracked files')
