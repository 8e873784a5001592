"""Shows training progress: console lines, the loss log file, and an HTML page of the latest visuals.

Test results are written with :func:`save_images` into a results page.
"""
import os
import time

from util import html, util


def save_images(webpage, visuals, image_path, aspect_ratio=1.0, width=256):
    """Save every visual of the first image of a batch as images/<stem>_<label>.png and add a row to the page."""
    image_dir = webpage.get_image_dir()
    path = image_path[0] if isinstance(image_path, (list, tuple)) else image_path
    stem = os.path.splitext(os.path.basename(path))[0]
    ims, txts, links = [], [], []
    for label, im_data in visuals.items():
        image_name = f'{stem}_{label}.png'
        util.save_image(util.tensor2im(im_data), os.path.join(image_dir, image_name), aspect_ratio=aspect_ratio)
        ims.append(image_name)
        txts.append(label)
        links.append(image_name)
    webpage.add_header(stem)
    webpage.add_images(ims, txts, links, width=width)


class Visualizer:
    """Console + loss_log.txt + checkpoints/NAME/web/index.html; only rank 0 writes anything."""

    def __init__(self, opt):
        self.opt = opt
        self.enabled = getattr(opt, 'rank', 0) == 0
        self.use_html = opt.isTrain and not getattr(opt, 'no_html', False)
        self.win_size = getattr(opt, 'display_winsize', 256)
        self.name = opt.name
        self.saved = False
        self.web_dir = os.path.join(opt.checkpoints_dir, opt.name, 'web')
        self.img_dir = os.path.join(self.web_dir, 'images')
        self.log_name = os.path.join(opt.checkpoints_dir, opt.name, 'loss_log.txt')
        self.snapshots = []  # (epoch, total_iters, [(label, image name)]) newest first
        if self.enabled:
            util.mkdirs(os.path.dirname(self.log_name))
            if self.use_html:
                util.mkdirs(self.img_dir)
            with open(self.log_name, 'a') as log_file:
                log_file.write(f'================ Training Loss ({time.strftime("%c")}) ================\n')

    def reset(self):
        self.saved = False

    def display_current_results(self, visuals, epoch, save_result, total_iters=0):
        """Save the current visuals and rebuild the training page (newest first)."""
        if not (self.enabled and self.use_html and (save_result or not self.saved)):
            return
        self.saved = True
        entries = []
        for label, image in visuals.items():
            name = f'epoch{epoch:03d}_iter{total_iters}_{label}.png'
            util.save_image(util.tensor2im(image), os.path.join(self.img_dir, name))
            entries.append((label, name))
        self.snapshots.insert(0, (epoch, total_iters, entries))
        webpage = html.HTML(self.web_dir, f'Experiment name = {self.name}', refresh=60)
        for snap_epoch, snap_iters, snap_entries in self.snapshots:
            webpage.add_header(f'epoch [{snap_epoch}] iteration [{snap_iters}]')
            names = [n for _, n in snap_entries]
            webpage.add_images(names, [label for label, _ in snap_entries], names, width=self.win_size)
        webpage.save()

    def plot_current_losses(self, epoch, counter_ratio, losses):
        """Hook for plotting backends (the console visualizer has none)."""

    def log_message(self, message):
        """Print a line (e.g. a training-phase switch) and append it to loss_log.txt."""
        if not self.enabled:
            return
        print(message)
        with open(self.log_name, 'a') as log_file:
            log_file.write(message + '\n')

    def print_current_metrics(self, epoch, metrics, split='val'):
        """Print one line of per-epoch metrics (e.g. validation scores) and append it to loss_log.txt."""
        self.log_message(f'(epoch: {epoch}, {split}) ' + ' '.join(f'{k}: {v:.4f}' for k, v in metrics.items()))

    def print_current_losses(self, epoch, iters, losses, t_comp, t_data):
        """Print one loss line and append it to loss_log.txt.

        t_comp / t_data: compute and data-loading seconds per image.
        """
        if not self.enabled:
            return
        message = f'(epoch: {epoch}, iters: {iters}, time: {t_comp:.3f}, data: {t_data:.3f}) '
        message += ' '.join(f'{k}: {v:.3f}' for k, v in losses.items())
        print(message)
        with open(self.log_name, 'a') as log_file:
            log_file.write(message + '\n')
