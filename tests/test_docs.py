"""The README and docs/ pages: relative links and #anchors resolve, and the README keeps its two commands."""
import ast
import os
import re

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PAGES = ['README.md'] + sorted(os.path.join('docs', f) for f in os.listdir(os.path.join(ROOT, 'docs'))
                               if f.endswith('.md'))


def _anchors(path):
    """GitHub's heading ids: lowercase, punctuation dropped, spaces to hyphens (code fences skipped)."""
    out, fence = set(), False
    with open(path, encoding='utf-8') as f:
        for line in f:
            if line.startswith('```'):
                fence = not fence
            elif not fence and re.match(r'#{1,6} ', line):
                title = line.lstrip('#').strip().lower()
                out.add(re.sub(r'[^\w\- ]', '', title).replace(' ', '-'))
    return out


def _links(page):
    with open(os.path.join(ROOT, page), encoding='utf-8') as f:
        text = f.read()
    return [m.group(1) for m in re.finditer(r'\]\(([^)\s]+)\)', text) if not re.match(r'[a-z]+:', m.group(1))]


@pytest.mark.parametrize('page', PAGES)
def test_relative_links_and_anchors_resolve(page):
    broken = []
    for link in _links(page):
        path, _, anchor = link.partition('#')
        target = os.path.normpath(os.path.join(ROOT, os.path.dirname(page), path)) if path else os.path.join(ROOT, page)
        if not os.path.exists(target):
            broken.append(f'{link} (no such file)')
        elif anchor and anchor not in _anchors(target):
            broken.append(f'{link} (no such heading)')
    assert not broken, f'{page}: broken links: {broken}'


def test_anchor_rule_matches_github():
    # the heading-id rule the link check relies on, on headings of the shapes these pages use
    path = os.path.join(ROOT, 'docs', 'pix2pix.md')
    anchors = _anchors(path)
    assert 'metrics-in-testpy-and-during-training' in anchors
    assert 'the-seed-studies-toolsstudies' in anchors


def test_readme_is_an_entry_page_with_the_two_commands_and_links_to_every_docs_page():
    with open(os.path.join(ROOT, 'README.md'), encoding='utf-8') as f:
        readme = f.read()
    assert 'bash scripts/demo.sh' in readme and 'bash scripts/run_tests.sh' in readme
    assert len(readme.splitlines()) <= 300
    linked = {os.path.normpath(link.partition('#')[0]) for link in _links('README.md')}
    missing = [p for p in PAGES[1:] if os.path.normpath(p) not in linked]
    assert not missing, f'README does not link to {missing}'


# ------------------------------------------------------------------ citations of code

# our code, by file and symbol: `models/liss_model.py: LissModel.after_train_step`
SYMBOL_CITATION = re.compile(r'`([\w./-]+\.py): ([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)?)`')
# file:line, optionally pinned to a published repository's commit: owner/repo@abc1234 path/file.py:12
LINE_CITATION = re.compile(r'(?:([\w.-]+/[\w.-]+@[0-9a-f]{7,40})\s+)?\b([\w./-]*[\w-]\.(?:py|yaml|yml|sh|toml|cfg)):\d+')


def _prose(page):
    """The page's text outside code fences (commands and logs may quote anything)."""
    with open(os.path.join(ROOT, page), encoding='utf-8') as f:
        lines, fence = [], False
        for line in f:
            if line.startswith('```'):
                fence = not fence
            elif not fence:
                lines.append(line)
    return ''.join(lines)


def _defines(body, name):
    """The module- or class-level function, class or assignment called ``name`` in ``body`` (ast nodes), or None."""
    for node in body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.name == name:
            return node
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
        for target in targets:
            names = target.elts if isinstance(target, ast.Tuple) else [target]
            if any(isinstance(n, ast.Name) and n.id == name for n in names):
                return node
    return None


def broken_symbol_citations(text, root=ROOT):
    """The `path.py: Symbol` / `path.py: Class.member` citations of ``text`` that do not resolve in ``root``."""
    broken = []
    for path, dotted in SYMBOL_CITATION.findall(text):
        file = os.path.join(root, path)
        if not os.path.isfile(file):
            broken.append(f'{path}: {dotted} (no such file)')
            continue
        with open(file, encoding='utf-8') as f:
            body = ast.parse(f.read()).body
        node = None
        for part in dotted.split('.'):
            node = _defines(body, part)
            if node is None:
                break
            body = node.body if isinstance(node, ast.ClassDef) else []
        if node is None:
            broken.append(f'{path}: {dotted} (no such symbol)')
    return broken


def line_citations_of_our_files(text, root=ROOT):
    """file:line citations of files that exist in ``root`` without an owner/repo@commit pin: line numbers of our
    own code go stale (cite `path.py: Symbol`); a published repository's lines are pinned to its commit."""
    return [m.group(0) for m in LINE_CITATION.finditer(text)
            if not m.group(1) and os.path.isfile(os.path.join(root, m.group(2)))]


def test_citation_rules_catch_what_they_should(tmp_path):
    (tmp_path / 'pkg').mkdir()
    (tmp_path / 'pkg' / 'mod.py').write_text('A, B = 1, 2\nC: int = 3\n\n\nclass K:\n    x = 1\n\n    def m(self):\n'
                                             '        pass\n\n\ndef f():\n    pass\n')
    (tmp_path / 'train.py').write_text('')
    ok = ' '.join(f'`pkg/mod.py: {s}`' for s in ('A', 'B', 'C', 'K', 'K.x', 'K.m', 'f'))
    bad = '`pkg/mod.py: K.nope`, `pkg/mod.py: f.x`, `pkg/mod.py: Nope`, `pkg/nope.py: X`'
    assert broken_symbol_citations(ok + bad, root=str(tmp_path)) == [
        'pkg/mod.py: K.nope (no such symbol)', 'pkg/mod.py: f.x (no such symbol)', 'pkg/mod.py: Nope (no such symbol)',
        'pkg/nope.py: X (no such file)']
    text = ('here pkg/mod.py:383 and (train.py:116-118); published `owner/repo@68dc555 pkg/mod.py:1059-1090`, '
            '1126-1157; eval.py:186 exists only upstream')
    assert line_citations_of_our_files(text, root=str(tmp_path)) == ['pkg/mod.py:383', 'train.py:116']


@pytest.mark.parametrize('page', PAGES)
def test_code_citations_resolve_and_never_use_our_line_numbers(page):
    text = _prose(page)
    broken = broken_symbol_citations(text)
    assert not broken, f'{page}: citations of symbols that do not exist: {broken}'
    stale = line_citations_of_our_files(text)
    assert not stale, (f'{page}: cites our own files by line number, which goes stale: {stale}; cite '
                       f'`path.py: Class.method` (or pin a published repository: owner/repo@commit path.py:N)')
