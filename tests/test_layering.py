"""mmpatch's import graph: each package imports only the floors below it,
and no module imports itself back through others (imports under
``TYPE_CHECKING`` and inside functions count too: docs/method.md,
"Architecture")."""
import ast
from pathlib import Path
from typing import Dict, Set

import pytest

ROOT = Path(__file__).resolve().parents[1] / 'mmpatch'

#: what each package may import (itself included); the floors, bottom up:
#: utils; datasets; patchgd; memory and models; engine. evaluation stands
#: apart.
ALLOWED = {
    'utils': {'utils'},
    'datasets': {'utils', 'datasets'},
    'patchgd': {'utils', 'datasets', 'patchgd'},
    'memory': {'utils', 'datasets', 'patchgd', 'memory'},
    'models': {'utils', 'datasets', 'patchgd', 'models'},
    'evaluation': {'utils', 'evaluation'},
    'engine': {'utils', 'datasets', 'patchgd', 'memory', 'engine'},
}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix('').parts
    return '.'.join(parts[:-1] if parts[-1] == '__init__' else parts)


def imports_of(path: Path) -> Set[str]:
    """The mmpatch modules ``path`` imports, anywhere in its code."""
    name = module_name(path)
    package = name if path.name == '__init__.py' else name.rsplit('.', 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding='utf-8'))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split('.')
                base = base[:len(base) - node.level + 1]
                mod = '.'.join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ''
            found.add(mod)
            # ``from . import x`` may name a submodule
            found |= {f'{mod}.{a.name}' for a in node.names}
    return {m for m in found if m.split('.')[0] == 'mmpatch'}


@pytest.fixture(scope='module')
def graph() -> Dict[str, Set[str]]:
    files = {module_name(p): p for p in ROOT.rglob('*.py')}
    return {
        name: {m for m in imports_of(path) if m in files and m != name}
        for name, path in files.items()
    }


def package(name: str) -> str:
    """``'patchgd'`` for ``mmpatch.patchgd.step``; '' at the top."""
    parts = name.split('.')
    return parts[1] if len(parts) > 1 and parts[1] in ALLOWED else ''


def test_no_package_imports_one_above_it(graph):
    upward = [(name, dep) for name, deps in graph.items() for dep in deps
              if package(name) and package(dep)
              and package(dep) not in ALLOWED[package(name)]]
    assert not upward, upward


def test_no_import_cycle(graph):
    """Packages' ``__init__`` files included: a module that imports its own
    package's face while the face imports it is a cycle too."""
    state: Dict[str, int] = {}

    def visit(node, path):
        state[node] = 1
        for dep in sorted(graph[node]):
            if state.get(dep) == 1:
                cycle = path[path.index(dep):] + [dep]
                raise AssertionError(f'import cycle: {" -> ".join(cycle)}')
            if dep not in state:
                visit(dep, path + [dep])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])


def test_the_graph_is_read(graph):
    """The check sees the engine's own imports (it cannot pass by reading
    nothing)."""
    assert 'mmpatch.patchgd.layout' in graph['mmpatch.patchgd.step']
    assert 'mmpatch.utils.optim_wrapper' in graph['mmpatch.patchgd.step']
