"""Run a trained model on the test split and write a results page.

    python test.py --dataroot ./datasets/synthetic_facades --name facades_pix2pix --model pix2pix --direction BtoA

Architecture options are read from checkpoints/NAME/train_opt.yaml, so they need not be repeated. Results go to
./results/NAME/<phase>_<epoch>/index.html with images in images/<stem>_<label>.png.
"""
import copy
import os
import signal
import sys

from data import create_dataset, find_dataset_using_name
from models import create_model
from options.test_options import TestOptions
from util import html
from metrics import results as result_metrics
from metrics.inputs import DatasetImages
from metrics.registry import parse_metrics
from util.cli import run_cli
from util.stop_signals import StopRequest, exit_status
from util.util import seed_everything
from visualizers import save_images


def results_dir(opt):
    label = f'{opt.phase}_{opt.epoch}' + (f'_iter{opt.load_iter}' if opt.load_iter > 0 else '')
    return os.path.join(opt.results_dir, opt.name, label)


def page_title(opt):
    where = f'Iteration = {opt.load_iter}' if opt.load_iter > 0 else f'Epoch = {opt.epoch}'
    return f'Experiment = {opt.name}, Phase = {opt.phase}, {where}'


def run_test(opt):
    """Translate up to --num_test images and return the path of the results page."""
    return _run_test(opt)[0]


def _run_test(opt, save_options=None):
    """(page path, stop signal number or 0): SIGINT/SIGTERM (Ctrl-C, a SLURM pre-emption) stop after the current
    batch and the page shows the images done so far; a KeyboardInterrupt raised inside a batch counts as SIGINT.
    ``save_options``: called once the checkpoint has loaded (a refused test leaves the run folder untouched)."""
    opt.serial_batches = True
    opt.no_flip = True
    seed_everything(opt.seed)
    dataset = create_dataset(opt)
    dataset.set_epoch(0)
    model = create_model(opt)
    model.setup(opt)
    if save_options is not None and getattr(opt, 'rank', 0) == 0:
        save_options()
    web_dir = results_dir(opt)
    webpage = html.HTML(web_dir, page_title(opt))
    if opt.eval:
        model.eval()
    elif opt.batch_size > 1 and opt.norm in ('batch', 'syncbatch'):
        print('note: without --eval, batch norm normalises over each test batch, so an image\'s output depends on '
              'the images batched with it; add --eval for batch-independent results')
    done, written, stopped_by = 0, [], 0
    try:
        with StopRequest() as stop:
            for data in dataset:
                if done >= opt.num_test or stop.requested:
                    break
                model.set_input(data)
                model.test()
                visuals = model.get_current_visuals()
                paths = model.get_image_paths()
                paths = paths if isinstance(paths, (list, tuple)) else [paths]
                for j, path in enumerate(paths[:opt.num_test - done]):
                    written += save_images(webpage, {k: v[j:j + 1] for k, v in visuals.items()}, path,
                                           aspect_ratio=opt.aspect_ratio, width=getattr(opt, 'display_winsize', 256),
                                           add_row=model.page_rows is None or done < model.page_rows)
                    done += 1
                if done % 50 < len(paths):
                    print(f'processing ({done:04d}) images... {paths[0]}')
            stopped_by = stop.signum
    except KeyboardInterrupt:
        stopped_by = signal.SIGINT
    if stopped_by:
        print(f'interrupted after {done} image(s): the results page shows those', file=sys.stderr)
    extra = model.add_to_results_page(webpage) or []  # e.g. the gan grid: rewritten, never stale
    remove_stale_images(webpage.get_image_dir(), written + extra)
    report_metrics(opt, model, web_dir, webpage, written)
    webpage.save()
    page = os.path.join(web_dir, 'index.html')
    print(f'results page: {page}')
    return page, stopped_by


def remove_stale_images(image_dir, written):
    """The results folder mirrors this run's page: images an earlier run left there (other --num_test, other
    data) are removed, so neither the page nor a later scoring of the folder mixes them in."""
    keep = set(written)
    stale = [name for name in os.listdir(image_dir) if name not in keep and
             os.path.splitext(name)[1].lower() in ('.png', '.jpg', '.jpeg')]
    for name in stale:
        os.remove(os.path.join(image_dir, name))
    if stale:
        print(f'removed {len(stale)} image(s) an earlier run left in {image_dir}')


def real_images(opt):
    """The run's real images, what samples of an unconditional model are scored against: --dataset_mode over
    --dataroot (its --phase split where the mode has one), centre-cropped to --crop_size, never flipped."""
    real_opt = copy.copy(opt)
    real_opt.num_samples = 0  # the data mode's real images, not the noise indices of generation
    return find_dataset_using_name(opt.dataset_mode)(real_opt)


def report_metrics(opt, model, web_dir, webpage, written=None):
    """Score this run's images (``written``, every image of the folder when None) with --metrics and add what
    the model measured (e.g. diversity of --n_samples): printed, saved to <web_dir>/metrics.json (replacing an
    earlier run's) and shown at the top of the results page. Returns the metrics."""
    metrics = {}
    if opt.metrics and callable(getattr(model, 'generate_samples', None)):  # unconditional: no target images
        image_dir = webpage.get_image_dir()
        names = written if written is not None else sorted(os.listdir(image_dir))
        samples = [os.path.join(image_dir, f) for f in names if f.endswith('_fake.png')]  # not the grid
        needs_real = {'fid', 'kid'} & set(parse_metrics(opt.metrics))  # isc scores the samples alone
        real = DatasetImages(real_images(opt)) if needs_real else None
        metrics.update(result_metrics.score_samples(samples, real, opt.metrics, weights_path=opt.fidelity_weights,
                                                    device=opt.device))
    elif opt.metrics:
        metrics.update(result_metrics.score_images(web_dir, opt.metrics, weights_path=opt.fidelity_weights,
                                                   device=opt.device, files=written))
    metrics.update(model.test_metrics())
    if not metrics:
        stale = os.path.join(web_dir, result_metrics.METRICS_FILE)
        if os.path.isfile(stale):  # an earlier run's scores must not sit next to this run's images
            os.remove(stale)
        return metrics
    result_metrics.write_results_metrics(web_dir, metrics)
    print('metrics: ' + ' '.join(f'{k}={v:.6g}' for k, v in metrics.items()))
    unofficial = any(m in metrics for m in ('fid', 'kid', 'isc')) and \
        result_metrics.uses_unofficial_weights(opt.fidelity_weights)
    webpage.add_metrics(metrics, note=result_metrics.UNOFFICIAL_WEIGHTS_NOTE if unofficial else None)
    return metrics


def main(args=None):
    options = TestOptions(args)
    opt = options.parse(save=False)  # test_opt.* are written once the checkpoint has loaded
    try:
        _, stopped_by = _run_test(opt, lambda: options.save_options(opt, 'test'))
    except KeyboardInterrupt:  # before the first image: nothing to show
        print('interrupted before any image was translated; no results page written', file=sys.stderr)
        return exit_status(signal.SIGINT)
    return exit_status(stopped_by) if stopped_by else 0


if __name__ == '__main__':
    sys.exit(run_cli(main))
