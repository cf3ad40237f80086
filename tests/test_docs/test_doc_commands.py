"""The docs' fenced commands name only configs and tools that exist."""
import glob
import os.path as osp
import re

import pytest

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
DOCS = [osp.join(ROOT, 'README.md')] + sorted(
    glob.glob(osp.join(ROOT, 'docs', '*.md')))
FENCE = re.compile(r'```[a-z]*\n(.*?)```', re.S)
PATH = re.compile(r'(?<![\w/.-])((?:configs|tools)/[\w./-]+\.(?:py|sh))')
MAKE = re.compile(r'\bmake\s+([\w-]+)')


def fenced_paths(text: str):
    """The paths the fenced blocks name, but those a ``cp`` of the same
    page writes before them (a user's copy of a config)."""
    made = set()
    for block in FENCE.findall(text):
        for line in block.splitlines():
            words = line.split()
            if words[:1] == ['cp'] and len(words) > 2:
                made.add(words[-1])
            for path in PATH.findall(line):
                if path not in made:
                    yield path


def test_docs_exist():
    names = {osp.basename(p) for p in DOCS}
    for required in ('README.md', 'install.md', 'method.md', 'memory.md',
                     'datasets.md'):
        assert required in names


@pytest.mark.parametrize('doc', DOCS, ids=lambda p: osp.basename(p))
def test_fenced_commands_name_existing_files(doc):
    text = open(doc, encoding='utf-8').read()
    missing = sorted({p for p in fenced_paths(text)
                      if not osp.exists(osp.join(ROOT, p))})
    assert not missing, f'{osp.basename(doc)} names missing files: {missing}'
    targets = set(re.findall(r'^([\w-]+):', open(
        osp.join(ROOT, 'Makefile')).read(), re.M))
    for block in FENCE.findall(text):
        for target in MAKE.findall(block):
            assert target in targets, f'make {target} is not a Makefile target'


def test_the_checker_catches_a_missing_file():
    text = '```bash\npython tools/train.py configs/nope.py\n```\n'
    assert list(fenced_paths(text)) == ['tools/train.py', 'configs/nope.py']
    text = ('```bash\ncp configs/nope.py configs/mine.py\n'
            'python tools/train.py configs/mine.py\n```\n')
    assert list(fenced_paths(text)) == ['configs/nope.py', 'tools/train.py']
    # a later block may name the copy; a block before the cp may not
    text = ('```bash\npython tools/test.py configs/mine.py\n```\n' + text +
            '```bash\npython tools/predict.py configs/mine.py\n```\n')
    assert list(fenced_paths(text)) == [
        'tools/test.py', 'configs/mine.py', 'configs/nope.py',
        'tools/train.py', 'tools/predict.py']
