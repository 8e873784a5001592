"""Run a trained model on the test split and write a results page.

    python test.py --dataroot ./datasets/synthetic_facades --name facades_pix2pix --model pix2pix --direction BtoA

Architecture options are read from checkpoints/NAME/train_opt.yaml, so they need not be repeated. Results go to
./results/NAME/<phase>_<epoch>/index.html with images in images/<stem>_<label>.png.
"""
import os
import sys

from data import create_dataset
from models import create_model
from options.test_options import TestOptions
from util import html
from metrics import results as result_metrics
from util.cli import run_cli
from util.util import seed_everything
from visualizers import save_images


def results_dir(opt):
    label = f'{opt.phase}_{opt.epoch}' + (f'_iter{opt.load_iter}' if opt.load_iter > 0 else '')
    return os.path.join(opt.results_dir, opt.name, label)


def run_test(opt):
    """Translate up to --num_test images and return the path of the results page."""
    opt.serial_batches = True
    opt.no_flip = True
    seed_everything(opt.seed)
    dataset = create_dataset(opt)
    dataset.set_epoch(0)
    model = create_model(opt)
    model.setup(opt)
    web_dir = results_dir(opt)
    webpage = html.HTML(web_dir, f'Experiment = {opt.name}, Phase = {opt.phase}, Epoch = {opt.epoch}')
    if opt.eval:
        model.eval()
    elif opt.batch_size > 1 and opt.norm in ('batch', 'syncbatch'):
        print('note: without --eval, batch norm normalises over each test batch, so an image\'s output depends on '
              'the images batched with it; add --eval for batch-independent results')
    done = 0
    for data in dataset:
        if done >= opt.num_test:
            break
        model.set_input(data)
        model.test()
        visuals = model.get_current_visuals()
        paths = model.get_image_paths()
        paths = paths if isinstance(paths, (list, tuple)) else [paths]
        for j, path in enumerate(paths[:opt.num_test - done]):
            save_images(webpage, {k: v[j:j + 1] for k, v in visuals.items()}, path,
                        aspect_ratio=opt.aspect_ratio, width=getattr(opt, 'display_winsize', 256))
            done += 1
        if done % 50 < len(paths):
            print(f'processing ({done:04d}) images... {paths[0]}')
    report_metrics(opt, model, web_dir, webpage)
    webpage.save()
    page = os.path.join(web_dir, 'index.html')
    print(f'results page: {page}')
    return page


def report_metrics(opt, model, web_dir, webpage):
    """Score the written images (--metrics) and add what the model measured (e.g. diversity of --n_samples):
    printed, saved to <web_dir>/metrics.json and shown at the top of the results page. Returns the metrics."""
    metrics = {}
    if opt.metrics:
        metrics.update(result_metrics.score_images(web_dir, opt.metrics, weights_path=opt.fidelity_weights,
                                                   device=opt.device))
    metrics.update(model.test_metrics())
    if not metrics:
        return metrics
    result_metrics.write_results_metrics(web_dir, metrics)
    print('metrics: ' + ' '.join(f'{k}={v:.6g}' for k, v in metrics.items()))
    unofficial = any(m in metrics for m in ('fid', 'kid', 'isc')) and \
        result_metrics.uses_unofficial_weights(opt.fidelity_weights)
    webpage.add_metrics(metrics, note=result_metrics.UNOFFICIAL_WEIGHTS_NOTE if unofficial else None)
    return metrics


def main(args=None):
    opt = TestOptions(args).parse()
    run_test(opt)
    return 0


if __name__ == '__main__':
    sys.exit(run_cli(main))
