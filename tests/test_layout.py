"""The package layering of docs/development.md: imports only point down, and imports form no loop.

Layers, bottom to top: util (0); data, metrics, visualizers (1); models (2); training (3); options (4); the entry
points train.py, test.py, app.py, tools/, scripts/ and the dataset scripts in datasets/ (5). A module may import from
its own layer or below, never from above, and that holds for imports inside functions too (a lazy upward import is
still an upward dependency). Imports between project modules must be acyclic, within a layer as well, and imports
inside functions count: a lazy import that closes a loop only hides it. tests/ is not checked.

The checker reads the source with ``ast`` (nothing is imported), so it also covers scripts that are never
imported by the suite.
"""
import ast
import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

LAYERS = {'util': 0, 'data': 1, 'metrics': 1, 'visualizers': 1, 'models': 2, 'training': 3, 'options': 4,
          'train': 5, 'test': 5, 'app': 5, 'demo_app': 5, 'tools': 5, 'scripts': 5, 'datasets': 5}
LAYER_NAMES = {0: 'util', 1: 'data/metrics/visualizers', 2: 'models', 3: 'training', 4: 'options', 5: 'entry points'}
SKIP_DIRS = {'tests', 'docs', 'configs', 'checkpoints', 'results', 'shared', 'build', 'dist',
             'node_modules', '__pycache__'}


def project_modules(root):
    """{dotted module name: file path} for every .py file outside tests/, hidden folders and SKIP_DIRS."""
    modules = {}
    for dirpath, dirnames, filenames in os.walk(root):
        rel = os.path.relpath(dirpath, root)
        parts = [] if rel == '.' else rel.split(os.sep)
        dirnames[:] = sorted(d for d in dirnames if not d.startswith('.') and not (not parts and d in SKIP_DIRS)
                             and d != '__pycache__')
        for filename in sorted(filenames):
            if not filename.endswith('.py'):
                continue
            stem = filename[:-3]
            if not parts and stem in ('setup', 'conftest'):
                continue
            name_parts = parts + ([] if stem == '__init__' else [stem])
            if name_parts:
                modules['.'.join(name_parts)] = os.path.join(dirpath, filename)
    return modules


def _is_package(modules, name):
    path = modules.get(name)
    return path is not None and os.path.basename(path) == '__init__.py'


def _resolve(modules, importer, node):
    """Project modules named by one Import/ImportFrom node of module ``importer`` (deepest existing module)."""
    targets = []
    if isinstance(node, ast.Import):
        for alias in node.names:
            parts = alias.name.split('.')
            while parts and '.'.join(parts) not in modules:
                parts.pop()
            if parts:
                targets.append('.'.join(parts))
        return targets
    if node.level:
        package = importer.split('.') if _is_package(modules, importer) else importer.split('.')[:-1]
        package = package[:len(package) - (node.level - 1)] if node.level > 1 else package
        base = '.'.join(package + ([node.module] if node.module else []))
    else:
        base = node.module or ''
    for alias in node.names:
        candidate = f'{base}.{alias.name}' if base else alias.name
        if candidate in modules:  # `from pkg import submodule`
            targets.append(candidate)
            continue
        parts = base.split('.') if base else []
        while parts and '.'.join(parts) not in modules:
            parts.pop()
        if parts:
            targets.append('.'.join(parts))
    return targets


def module_imports(modules, name):
    """[(target module, line, at module level)] for every import of a project module in module ``name``."""
    with open(modules[name], encoding='utf-8') as f:
        tree = ast.parse(f.read(), filename=modules[name])
    found = []

    def visit(node, top_level):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                for target in _resolve(modules, name, child):
                    if target != name:
                        found.append((target, child.lineno, top_level))
            inner = top_level and not isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            visit(child, inner)

    visit(tree, True)
    return found


def layer_of(name):
    return LAYERS.get(name.split('.')[0])


def check_layout(root):
    """(problems, graph): one line per unassigned package, upward import or import loop. ``graph`` holds every
    import, lazy ones included."""
    modules = project_modules(root)
    problems = []
    graph = {name: set() for name in modules}
    for top in sorted({name.split('.')[0] for name in modules}):
        if top not in LAYERS:
            problems.append(f"'{top}' has no layer: add it to LAYERS in tests/test_layout.py")
    for name in sorted(modules):
        rel = os.path.relpath(modules[name], root)
        for target, line, _ in module_imports(modules, name):
            low, high = layer_of(name), layer_of(target)
            if low is not None and high is not None and high > low:
                problems.append(f'{rel}:{line}: {name} ({LAYER_NAMES[low]}) imports {target} '
                                f'({LAYER_NAMES[high]}), a higher layer')
            graph[name].add(target)  # a lazy import is an edge too: it closes a loop as surely, only later
    for cycle in import_cycles(graph):
        problems.append('import loop: ' + ' -> '.join(cycle + [cycle[0]]))
    return problems, graph


def import_cycles(graph):
    """The strongly connected components of more than one module (Tarjan), each as a sorted list."""
    index, low, stack, on_stack, out = {}, {}, [], set(), []
    counter = [0]

    def strongconnect(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                strongconnect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            strongconnect(v)
    return out


# ---------------------------------------------------------------------------------------------- the repository

def test_repository_imports_point_down_without_loops():
    problems, graph = check_layout(ROOT)
    assert len(graph) > 50  # the walk found the project
    assert not problems, 'layering problems:\n' + '\n'.join(problems)


# ---------------------------------------------------------------------------------------------- the checker itself

def _tree(tmp_path, files):
    for rel, source in files.items():
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source)
    return str(tmp_path)


CLEAN = {
    'util/__init__.py': '',
    'util/errors.py': 'class OptionError(ValueError):\n    pass\n',
    'util/util.py': 'import os\nfrom util.errors import OptionError\n',
    'data/__init__.py': 'from util import util\n',
    'data/base.py': 'from . import image\nfrom .image import load\n',
    'data/image.py': 'import torch\ndef load():\n    from util.errors import OptionError\n',
    'models/__init__.py': 'def get():\n    from util.util import os\n',
    'models/base_model.py': 'from . import networks\nfrom data.base import load\n',
    'models/networks/__init__.py': 'from .blocks import Block\n',
    'models/networks/blocks.py': 'from util.util import os\nclass Block:\n    pass\n',
    'options/base_options.py': 'import models\nimport data\n',
    'train.py': 'from options.base_options import x\nimport util.util\n',
    'tools/bench/run.py': 'import train\nfrom models.networks import blocks\n',
}


def test_checker_accepts_a_clean_tree(tmp_path):
    problems, graph = check_layout(_tree(tmp_path, CLEAN))
    assert problems == []
    assert graph['data.base'] == {'data.image'}  # `from . import image` names the submodule, not data/__init__
    assert graph['models.base_model'] == {'models.networks', 'data.base'}
    assert graph['tools.bench.run'] == {'train', 'models.networks.blocks'}
    assert graph['data.image'] == {'util.errors'}  # its only project import is lazy: an edge too


@pytest.mark.parametrize('rel, source, expected', [
    ('util/cli.py', 'from options.base_options import OptionError\n',
     'util/cli.py:1: util.cli (util) imports options.base_options (options), a higher layer'),
    ('data/image.py', 'def f():\n    import models.networks\n',  # lazy, still upward
     'data/image.py:2: data.image (data/metrics/visualizers) imports models.networks (models), a higher layer'),
    ('models/networks/blocks.py', 'from ...options import base_options\n',  # relative, two packages up
     'models/networks/blocks.py:1: models.networks.blocks (models) imports options.base_options (options)'),
    ('models/base_model.py', 'import train\n', 'imports train (entry points), a higher layer'),
    ('util/util.py', 'from data import base\n', 'imports data.base (data/metrics/visualizers)'),
    ('lib/x.py', 'import os\n', "'lib' has no layer"),
])
def test_checker_rejects_upward_imports(tmp_path, rel, source, expected):
    problems, _ = check_layout(_tree(tmp_path, {**CLEAN, rel: source}))
    assert len(problems) == 1 and expected in problems[0], problems


def test_checker_rejects_loops_lazy_ones_included(tmp_path):
    loop = {**CLEAN, 'models/__init__.py': 'from models.base_model import Base\n',
            'models/base_model.py': 'from options.base_options import ARCH\n',
            'options/base_options.py': 'import models\n'}
    problems, _ = check_layout(_tree(tmp_path / 'a', loop))
    assert 'import loop: models -> models.base_model -> options.base_options -> models' in problems
    assert any('models.base_model (models) imports options.base_options (options)' in p for p in problems)

    peers = {**CLEAN, 'data/base.py': 'from .image import load\n', 'data/image.py': 'from data.base import x\n'}
    assert check_layout(_tree(tmp_path / 'b', peers))[0] == ['import loop: data.base -> data.image -> data.base']

    via_init = {**CLEAN, 'models/networks/blocks.py': 'from models.networks import Block\n'}
    assert check_layout(_tree(tmp_path / 'c', via_init))[0] == [
        'import loop: models.networks -> models.networks.blocks -> models.networks']

    # models/checkpoint.py <-> models/resume.py as it was: both sides import the other inside functions
    lazy = {**CLEAN, 'models/checkpoint.py': 'def save():\n    from . import resume\n',
            'models/resume.py': 'class A:\n    def f(self):\n        from models.checkpoint import read\n'}
    assert check_layout(_tree(tmp_path / 'd', lazy))[0] == ['import loop: models.checkpoint -> models.resume -> '
                                                             'models.checkpoint']
    one_way = {**CLEAN, 'models/checkpoint.py': 'from . import resume\n', 'models/resume.py': 'import os\n'}
    assert check_layout(_tree(tmp_path / 'e', one_way))[0] == []
