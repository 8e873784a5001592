"""Static HTML pages of images built with dominate (training snapshots and test results)."""
import os

import dominate
from dominate.tags import a, br, h3, img, meta, p, table, td, tr

from util import util


class HTML:
    """A page in ``web_dir/<filename>`` whose images live in ``web_dir/images`` and are linked relatively,
    so the folder can be moved or zipped."""

    def __init__(self, web_dir, title, refresh=0, filename='index.html'):
        self.title = title
        self.web_dir = web_dir
        self.filename = filename
        self.img_dir = os.path.join(self.web_dir, 'images')
        util.mkdirs([self.web_dir, self.img_dir])
        self.doc = dominate.document(title=title)
        if refresh > 0:
            with self.doc.head:
                meta(http_equiv='refresh', content=str(refresh))

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
                            with a(href=os.path.join('images', link)):
                                img(style=f'width:{width}px', src=os.path.join('images', im))
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

    def save(self):
        """Write the page atomically."""
        util.atomic_write_text(os.path.join(self.web_dir, self.filename), self.doc.render())
