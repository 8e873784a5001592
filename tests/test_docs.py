"""The README and docs/ pages: relative links and #anchors resolve, and the README keeps its two commands."""
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
