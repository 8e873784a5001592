"""Static HTML pages of images built with dominate (training snapshots and test results).

All image paths are relative to the page, so a results or web folder can be moved, zipped or served as is.
A results page can show a dict of metrics at its top (:meth:`HTML.add_metrics`); :func:`update_metrics_section`
adds or replaces that table in a page already written, and :func:`refresh_metrics` does so from the
``metrics.json`` next to it (e.g. after tools/evaluate.py scored the images).
"""
import json
import os
import re
from html import escape
from urllib.parse import quote

import dominate
from dominate.tags import a, br, div, h3, img, meta, p, table, td, th, tr
from dominate.util import raw

from util import util

METRICS_BEGIN, METRICS_END = '<!-- metrics:begin -->', '<!-- metrics:end -->'


def image_url(name):
    """The relative link of images/<name>, percent-encoded (file names may hold #, %, ?, spaces or non-ASCII)."""
    return quote('images/' + name)


def new_document(title):
    """A dominate document that declares its charset (UTF-8 names and titles display correctly)."""
    doc = dominate.document(title=title)
    with doc.head:
        meta(charset='utf-8')
    return doc


class HTML:
    """A page in ``web_dir/<filename>`` whose images live in ``web_dir/images`` and are linked relatively,
    so the folder can be moved or zipped."""

    def __init__(self, web_dir, title, refresh=0, filename='index.html'):
        self.title = title
        self.web_dir = web_dir
        self.filename = filename
        self.img_dir = os.path.join(self.web_dir, 'images')
        util.mkdirs([self.web_dir, self.img_dir])
        self.doc = new_document(title)
        if refresh > 0:
            with self.doc.head:
                meta(http_equiv='refresh', content=str(refresh))
        self.metrics = None  # dict shown at the top of the page (see add_metrics)
        self.metrics_note = None
        self.results_table = None  # the table add_result_row appends to
        self.results_columns = None

    def get_image_dir(self):
        return self.img_dir

    def add_header(self, text):
        with self.doc:
            h3(text)

    def add_text(self, text):
        with self.doc:
            p(text)

    def add_images(self, ims, txts, links, width=400):
        """One table row of images (paths relative to images/), each with a caption and a link."""
        t = table(border=1, style='table-layout: fixed;')
        self.doc.add(t)
        with t:
            with tr():
                for im, txt, link in zip(ims, txts, links):
                    with td(style='word-wrap: break-word;', halign='center', valign='top'):
                        with p():
                            with a(href=image_url(link)):
                                img(style=f'width:{width}px', src=image_url(im))
                            br()
                            p(txt)

    def add_table(self, rows, header=None):
        """A table of text cells (e.g. metrics)."""
        t = table(border=1, style='border-collapse: collapse;')
        self.doc.add(t)
        with t:
            if header:
                with tr():
                    for cell in header:
                        td(str(cell), style='font-weight: bold; padding: 4px;')
            for row in rows:
                with tr():
                    for cell in row:
                        td(str(cell), style='padding: 4px;')

    def add_result_row(self, name, ims, txts, width=256):
        """One row of the results table: the image name, then its visuals (input, outputs, targets) with links.

        A header row names the columns; a row with different visuals starts a new table.
        """
        if self.results_table is None or list(txts) != self.results_columns:
            self.results_columns = list(txts)
            self.results_table = table(border=1, style='border-collapse: collapse; table-layout: fixed;')
            self.doc.add(self.results_table)
            with self.results_table:
                with tr():
                    th('image', style='padding: 4px;')
                    for txt in txts:
                        th(txt, style='padding: 4px;')
        with self.results_table:
            with tr():
                td(name, style='padding: 4px; word-wrap: break-word;', valign='middle')
                for im, txt in zip(ims, txts):
                    with td(style='padding: 4px;', halign='center', valign='top'):
                        with a(href=image_url(im)):
                            img(style=f'width:{width}px', src=image_url(im), alt=f'{name} {txt}')

    def add_metrics(self, metrics, note=None):
        """Show a dict of metrics (nested dicts are flattened to dotted names) at the top of the page, with an
        optional note under the table (e.g. that FIDs used unofficial Inception weights)."""
        self.metrics = metrics
        self.metrics_note = note

    def render(self):
        body = self.doc.render()
        metrics = self.metrics
        section = metrics_section(metrics, self.metrics_note) if metrics else METRICS_BEGIN + METRICS_END
        return body.replace('<body>', f'<body>\n<h3>{escape(self.title)}</h3>\n' + section, 1)

    def save(self):
        """Write the page atomically."""
        util.atomic_write_text(os.path.join(self.web_dir, self.filename), self.render())


def flatten_metrics(metrics, prefix=''):
    """{'a': {'b': 1}} -> [('a.b', 1)]."""
    rows = []
    for key, value in metrics.items():
        name = f'{prefix}{key}'
        if isinstance(value, dict):
            rows.extend(flatten_metrics(value, name + '.'))
        else:
            rows.append((name, value))
    return rows


def _format_value(value):
    if isinstance(value, float):
        return f'{value:.4g}'
    return str(value)


def metrics_section(metrics, note=None):
    """The metrics table (and an optional note) as HTML, between markers so it can be replaced later."""
    t = table(border=1, style='border-collapse: collapse; margin-bottom: 1em;')
    with t:
        with tr():
            th('metric', style='padding: 4px;')
            th('value', style='padding: 4px;')
        for name, value in flatten_metrics(metrics):
            with tr():
                td(name, style='padding: 4px;')
                td(_format_value(value), style='padding: 4px; text-align: right;')
    note_html = p(note).render() if note else ''
    return f'{METRICS_BEGIN}<h3>Metrics</h3>{t.render()}{note_html}{METRICS_END}'


def read_metrics(path):
    """The dict in a metrics.json file, or None when there is none (a broken file is shown as an error row)."""
    if not os.path.isfile(path):
        return None
    try:
        with open(path) as f:
            metrics = json.load(f)
    except (OSError, ValueError) as exc:
        return {'error': f'could not read {os.path.basename(path)}: {exc}'}
    return metrics if isinstance(metrics, dict) else {'error': f'{os.path.basename(path)} is not a JSON object'}


def update_metrics_section(page_path, metrics):
    """Put ``metrics`` (a dict) into an existing results page, replacing the previous metrics table."""
    with open(page_path) as f:
        text = f.read()
    section = metrics_section(metrics)
    pattern = re.compile(re.escape(METRICS_BEGIN) + '.*?' + re.escape(METRICS_END), re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _: section, text, count=1)
    else:
        text = text.replace('<body>', '<body>\n' + section, 1)
    util.atomic_write_text(page_path, text)


def refresh_metrics(web_dir, filename='index.html'):
    """Show ``web_dir/metrics.json`` on the page ``web_dir/filename``; returns the metrics (None when absent)."""
    metrics = read_metrics(os.path.join(web_dir, 'metrics.json'))
    if metrics is not None:
        update_metrics_section(os.path.join(web_dir, filename), metrics)
    return metrics


# -------------------------------------------------------------------------- training pages (visualizers/html_backend.py)


def snapshot_fragment(header, entries, width):
    """One training snapshot (a header and a row of [label, image name] entries) rendered once as HTML."""
    block = div(cls='snapshot')
    with block:
        h3(header)
        with table(border=1, style='table-layout: fixed;'):
            with tr():
                for label, name in entries:
                    with td(style='word-wrap: break-word;', halign='center', valign='top'):
                        with a(href=image_url(name)):
                            img(style=f'width:{width}px', src=image_url(name), alt=label)
                        br()
                        p(label)
    return block.render()


def write_snapshot_page(path, title, fragments, links=(), plot=None, refresh=0):
    """A page of already rendered snapshot fragments (newest first), an optional plot and links to other pages.

    Its cost depends only on the fragments given, not on the length of the run.
    """
    doc = new_document(title)
    if refresh > 0:
        with doc.head:
            meta(http_equiv='refresh', content=str(refresh))
    with doc:
        h3(title)
        if plot:
            img(src=plot, alt='loss curves', style='max-width: 100%;')
        if links:
            with p():
                for href, text in links:
                    a(text, href=href)
                    raw(' ')
        for fragment in fragments:
            raw(fragment)
    util.atomic_write_text(path, doc.render())
