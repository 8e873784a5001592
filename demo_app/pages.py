"""One page per model family: the request functions (plain Python, tested without a browser) and the Gradio
layout that wires them to components.

PAGES maps a --model name to its page class; a model without an entry uses the page of its nearest parent class
(perceptual and adversarial_losses are pix2pix pages). A new model (e.g. ``gan``) adds a Page subclass with
``@page_for('gan')``: request methods that take and return numpy images, and ``build(gr)`` laying them out.
"""
import os
from collections import OrderedDict

import numpy as np
import torch
from PIL import Image

from models import entry_for_model
from models.base_model import unwrap
from models.checkpoint import available_labels
from options.inference_options import trained_runs
from util.errors import USER_ERRORS
from models.inference import size_multiple
from .core import AppInputError, as_pil, channels_of, load_input_half, pil_to_tensor, tensor_to_image, to_pil

PAGES = {}
IMAGE_HEIGHT = 320  # display height of image components (small runs are shown enlarged)


def page_for(*names):
    def register(cls):
        for name in names:
            PAGES[name] = cls
        return cls
    return register


def page_class(model, model_name):
    """The page registered for ``model_name`` or for the nearest parent class of ``model`` that has one."""
    page = entry_for_model(PAGES, model, model_name)
    if page is not None:
        return page
    raise AppInputError(f"the app has no page for --model {model_name} (demo_app/pages.py knows "
                        f"{', '.join(sorted(PAGES))})")


def check_run_name(checkpoints_dir, name, epoch=None):
    """/load_run serves runs of the app's --checkpoints_dir only (--host 0.0.0.0 exposes it): ``name`` must be one
    of its run folders (no path, no '..', no link leading out of it) and ``epoch`` one of the run's checkpoint
    labels. AppInputError (naming no server path) otherwise."""
    runs = trained_runs(checkpoints_dir)
    listing = f"runs here: {', '.join(runs)}" if runs else 'there are no trained runs here'
    root = os.path.realpath(checkpoints_dir)
    folder = os.path.join(checkpoints_dir, name)
    if os.path.basename(name) != name or name in ('.', '..') or name not in os.listdir(checkpoints_dir) or \
            os.path.dirname(os.path.realpath(folder)) != root or name not in runs:
        raise AppInputError(f"no run '{name}' in this app's checkpoints folder; {listing}")
    if epoch is not None and epoch not in available_labels(folder):
        labels = ', '.join(available_labels(folder)) or 'none'
        raise AppInputError(f"run '{name}' has no checkpoint '{epoch}'; saved labels for this experiment: {labels}")


def hide_folder(message, folder):
    """``message`` with the checkpoints folder (as given, absolute and resolved) written as <checkpoints_dir>."""
    for path in sorted({os.path.realpath(folder), os.path.abspath(folder), folder.rstrip(os.sep)}, key=len,
                       reverse=True):
        message = message.replace(path, '<checkpoints_dir>')
    return message


def latency_text(session):
    return f'{session.last_latency_ms:.0f} ms' if session.last_latency_ms is not None else ''


class Page:
    """Base page: ``session`` holds the loaded run (options, model, lock)."""

    title = 'model'

    def __init__(self, session):
        self.session = session
        self.opt = session.opt
        self.model = session.model

    def describe(self):
        opt = self.opt
        return (f'**{opt.name}** — `--model {opt.model}`, `--netG {getattr(opt, "netG", "-")}`, epoch `{opt.epoch}`, '
                f'device `{opt.device}`, amp `{opt.amp}`' + (', channels_last' if opt.channels_last else ''))

    def switch_run(self, name, epoch=''):
        """Load run ``name`` (at ``epoch``) into this page, which must be the page of its model; returns the new
        description. A missing run or a checkpoint that does not fit raises a one-line error."""
        name, epoch = str(name or '').strip(), str(epoch or '').strip() or None
        if not name:
            raise AppInputError('type or pick the name of a run')
        check_run_name(self.opt.checkpoints_dir, name, epoch)
        try:
            new = self.session.with_run(name, epoch)
        except USER_ERRORS as exc:  # the page's users see the run, never the server's folders
            raise type(exc)(hide_folder(str(exc), self.opt.checkpoints_dir)) from exc
        cls = page_class(new.model, new.opt.model)
        if cls is not type(self):
            raise AppInputError(f"'{name}' is a --model {new.opt.model} run, which this {self.title} page cannot "
                                f"show; start an app for it: python app.py --name {name}")
        candidate = cls(new)
        if getattr(self, 'runtime', 'torch') == 'onnx':  # keep serving exported files (raises if they are missing)
            from .onnx_runtime import use_onnx
            use_onnx(candidate)
        with self.session.lock:
            self.__dict__.update(candidate.__dict__)
        return self.describe()

    # -- helpers for image-to-image pages
    def size_multiple(self, net):
        multiple = getattr(net, 'multiple', None)  # an exported network served by onnxruntime knows its own
        return multiple if multiple is not None else size_multiple(unwrap(net))

    def image_batch(self, image, channels, net, what="this run's generator"):
        img = to_pil(image, channels, what)
        return self.session.to_input(pil_to_tensor(img, self.opt.crop_size, self.size_multiple(net)))

    def example_names(self, subfolder=''):
        return [p.rsplit('/', 1)[-1] for p in self.session.test_images(subfolder)]

    def load_example(self, name, subfolder='', channels=3):
        """A test image by file name, as the generator's input (the --direction half of an aligned pair)."""
        for path in self.session.test_images(subfolder):
            if path.rsplit('/', 1)[-1] == name:
                image = load_input_half(path, self.opt.dataset_mode, self.opt.direction)
                return image if channels != 1 else np.asarray(Image.fromarray(image).convert('L'))
        raise AppInputError(f"no test image '{name}' in the run's {self.opt.phase}{subfolder} folder")

    # -- gradio
    def build(self, gr):
        raise NotImplementedError


def example_picker(gr, page, image, subfolder='', channels=3, label='or pick a test image'):
    names = page.example_names(subfolder)
    if not names:
        return None
    picker = gr.Dropdown(names, value=None, label=label)
    picker.change(lambda n: page.load_example(n, subfolder, channels) if n else None, picker, image,
                  api_name=False)
    return picker


def integer_dropdown(gr, choices, **kwargs):
    """A gr.Dropdown of integers whose API schema says integer: gradio describes every dropdown as a string enum,
    which gradio_client shows as Literal['0', '1', ...] although it refuses the strings. (Set on the instance: a
    gr.Dropdown subclass would make gradio write a .pyi stub next to this module.)"""
    choices = list(choices)
    dropdown = gr.Dropdown(choices, **kwargs)
    dropdown.api_info = lambda: {'type': 'integer', 'description': f"one of {', '.join(map(str, choices))}"}
    return dropdown


def guarded(fn):
    """Turn the app's input errors (and checkpoint/option errors) into a gr.Error message, not a traceback."""
    import functools

    import gradio as gr

    @functools.wraps(fn)
    def wrapper(*args):
        try:
            return fn(*args)
        except USER_ERRORS as exc:
            raise gr.Error(str(exc).strip().splitlines()[0]) from exc
    return wrapper


# ---------------------------------------------------------------------------------------------- pix2pix family

@page_for('pix2pix', 'test')
class TranslationPage(Page):
    """Image in, translated image out (pix2pix and its variants, --model test)."""

    title = 'image-to-image translation'

    @property
    def net(self):
        return self.model.netG

    def direction_label(self):
        if self.opt.model == 'test':
            return f'G{self.opt.model_suffix}: input → output'
        return f"{self.opt.direction[0]} → {self.opt.direction[-1]}"

    def translate(self, image):
        x = self.image_batch(image, self.opt.input_nc, self.net)
        out = self.session.run(lambda: self.net(x), seed=self.opt.seed)
        return tensor_to_image(out)

    def build(self, gr):
        with gr.Row():
            with gr.Column():
                image = gr.Image(type='pil', format='png', height=IMAGE_HEIGHT, image_mode=None, label=f'input ({self.direction_label()})',
                                 elem_id='input-image', sources=['upload', 'clipboard'])
                example_picker(gr, self, image, channels=self.opt.input_nc)
                button = gr.Button('Translate', variant='primary', elem_id='run-button')
            with gr.Column():
                output = gr.Image(type='numpy', format='png', height=IMAGE_HEIGHT, label='output', elem_id='output-image', interactive=False)
                timing = gr.Markdown(elem_id='latency')
        button.click(guarded(lambda im: (self.translate(im), latency_text(self.session))), image, [output, timing],
                     api_name='translate')


@page_for('stochastic')
class StochasticPage(TranslationPage):
    """Several samples of one input (test-time dropout or weight noise) and their diversity."""

    title = 'stochastic pix2pix'

    def samples(self, image, n_samples, seed):
        n = int(n_samples)
        if not 1 <= n <= 16:
            raise AppInputError(f'the number of samples must be between 1 and 16 (got {n})')
        x = self.image_batch(image, self.opt.input_nc, self.net)
        model = self.model

        def draw():
            model.opt.n_samples = n
            model.sample_names = ['fake_B'] + [f'fake_B_{k}' for k in range(2, n + 1)]
            model._diversity_sum, model._diversity_count = 0.0, 0
            model.set_input({'A': x, 'B': x, 'A_paths': ['upload'], 'B_paths': ['upload']})
            model.test()  # the model's own sampling and diversity (as in test.py --n_samples)
            return [getattr(model, name) for name in model.sample_names], model.test_metrics()

        outs, metrics = self.session.run(draw, seed=seed)
        return [tensor_to_image(o) for o in outs], metrics.get('diversity')

    def build(self, gr):
        with gr.Row():
            with gr.Column():
                image = gr.Image(type='pil', format='png', height=IMAGE_HEIGHT, image_mode=None, label=f'input ({self.direction_label()})',
                                 elem_id='input-image', sources=['upload', 'clipboard'])
                example_picker(gr, self, image, channels=self.opt.input_nc)
                n = gr.Slider(1, 16, value=4, step=1, label='number of samples')
                seed = gr.Number(value=0, precision=0, label='seed')
                button = gr.Button('Sample', variant='primary', elem_id='run-button')
            with gr.Column():
                gallery = gr.Gallery(label='samples', format='png', columns=4, height=IMAGE_HEIGHT, elem_id='output-gallery')
                diversity = gr.Markdown(elem_id='diversity')

        def run(im, k, s):
            outs, div = self.samples(im, k, s)
            text = (f'diversity (mean pairwise L1 in [0, 1]): **{div:.4f}**' if div is not None
                    else 'diversity needs at least 2 samples') + f' — {latency_text(self.session)}'
            return outs, text
        button.click(guarded(run), [image, n, seed], [gallery, diversity], api_name='sample')


@page_for('colorization')
class ColorizationPage(TranslationPage):
    """Grayscale (or colour, converted to its lightness) in, colour out."""

    title = 'colorization'

    def colorize(self, image):
        from skimage import color
        img = as_pil(image)
        img = to_pil(img, 3 if channels_of(img) > 2 else 1, 'colorization').convert('RGB')
        side_img = img.resize((self.opt.crop_size, self.opt.crop_size))
        lab = color.rgb2lab(np.asarray(side_img)).astype(np.float32)
        L = torch.from_numpy(lab[None, None, :, :, 0].copy()) / 50.0 - 1.0
        x = self.session.to_input(L)
        ab = self.session.run(lambda: self.net(x), seed=self.opt.seed)
        rgb = self.model.lab2rgb(x, ab.float())
        return tensor_to_image(x), tensor_to_image(rgb)

    def build(self, gr):
        with gr.Row():
            with gr.Column():
                image = gr.Image(type='pil', format='png', height=IMAGE_HEIGHT, image_mode=None, label='input (grayscale, or colour: its lightness is used)',
                                 elem_id='input-image', sources=['upload', 'clipboard'])
                example_picker(gr, self, image)
                button = gr.Button('Colorize', variant='primary', elem_id='run-button')
            with gr.Column():
                gray = gr.Image(type='numpy', format='png', height=IMAGE_HEIGHT, label='lightness L (generator input)', interactive=False)
                output = gr.Image(type='numpy', format='png', height=IMAGE_HEIGHT, label='colorized', elem_id='output-image', interactive=False)
                timing = gr.Markdown(elem_id='latency')
        button.click(guarded(lambda im: (*self.colorize(im), latency_text(self.session))), image,
                     [gray, output, timing], api_name='colorize')


# ---------------------------------------------------------------------------------------------- unpaired

@page_for('cycle_gan')
class CycleGANPage(Page):
    """Both generators: G_A (A → B) and G_B (B → A)."""

    title = 'CycleGAN (both directions)'

    def generator(self, which):
        if which not in ('A', 'B'):
            raise AppInputError(f"generator must be 'A' or 'B', not {which!r}")
        return self.model.netG_A if which == 'A' else self.model.netG_B

    def in_channels(self, which):
        return self.opt.input_nc if which == 'A' else self.opt.output_nc

    def translate(self, image, which):
        net = self.generator(which)
        x = self.image_batch(image, self.in_channels(which), net, f'G_{which}')
        return tensor_to_image(self.session.run(lambda: net(x), seed=self.opt.seed))

    def domains(self, which):
        src, dst = ('A', 'B') if self.opt.direction == 'AtoB' else ('B', 'A')
        return (src, dst) if which == 'A' else (dst, src)

    def build(self, gr):
        for which in ('A', 'B'):
            src, dst = self.domains(which)
            with gr.Tab(f'G_{which}: {src} → {dst}'):
                with gr.Row():
                    with gr.Column():
                        image = gr.Image(type='pil', format='png', height=IMAGE_HEIGHT, image_mode=None, label=f'domain {src} image',
                                         elem_id=f'input-image-{which}', sources=['upload', 'clipboard'])
                        example_picker(gr, self, image, subfolder=src, channels=self.in_channels(which))
                        button = gr.Button(f'Translate {src} → {dst}', variant='primary', elem_id=f'run-button-{which}')
                    with gr.Column():
                        output = gr.Image(type='numpy', format='png', height=IMAGE_HEIGHT, label=f'domain {dst} (G_{which})', interactive=False,
                                          elem_id=f'output-image-{which}')
                        timing = gr.Markdown()
                extra = self.extra_outputs(gr, which)
                button.click(guarded(lambda im, w=which: self.respond(im, w)), image, [output, timing] + extra,
                             api_name=f'translate_{which}')

    def extra_outputs(self, gr, which):
        return []

    def respond(self, image, which):
        return self.translate(image, which), latency_text(self.session)


ROTATIONS = ('0°', '90°', '180°', '270°')


@page_for('liss')
class LissPage(CycleGANPage):
    """CycleGAN translation plus the auxiliary heads of the shared encoder (depth, colourised gray, rotation)."""

    title = 'LiSS (translation + self-supervised heads)'

    def heads(self, image, which):
        """The translation and every head's prediction on the input image."""
        net = unwrap(self.generator(which))
        x = self.image_batch(image, self.in_channels(which), net.encoder, f'G_{which}')
        from models.liss import to_gray

        def run():
            out = OrderedDict(translation=net.decoder(net.encoder(x)))
            if 'depth' in net.heads:
                depth = net.heads['depth'](net.encoder(x)).float()
                lo, hi = depth.amin(), depth.amax()
                out['depth'] = (depth - lo) / (hi - lo).clamp_min(1e-8) * 2 - 1
            if 'gray' in net.heads:
                gray = to_gray(x)
                out['gray'] = gray
                out['colorized gray'] = net.heads['gray'](net.encoder(gray))
            if 'rotation' in net.heads:
                probs = net.heads['rotation'](net.encoder(x)).float().softmax(-1)[0]
                out['rotation'] = {r: float(p) for r, p in zip(ROTATIONS, probs)}
            return out

        out = self.session.run(run, seed=self.opt.seed)
        return OrderedDict((k, v if isinstance(v, dict) else tensor_to_image(v)) for k, v in out.items())

    def extra_outputs(self, gr, which):
        comps = []
        with gr.Row():
            for head in ('depth', 'gray', 'colorized gray'):
                if head.split()[-1] in self.heads_available():
                    comps.append(gr.Image(type='numpy', format='png', height=IMAGE_HEIGHT, label=f'{head} head', interactive=False))
            if 'rotation' in self.heads_available():
                comps.append(gr.Label(label='rotation head: predicted rotation of the input'))
        return comps

    def heads_available(self):
        return list(unwrap(self.model.netG_A).heads.keys())

    def respond(self, image, which):
        out = self.heads(image, which)
        extras = [out[k] for k in ('depth', 'gray', 'colorized gray', 'rotation') if k in out]
        return [out['translation'], latency_text(self.session)] + extras


@page_for('omnigan')
class OmniganPage(Page):
    """The task heads (depth, segmentation, height, water) and the painted (flooded) image."""

    title = 'omnigan (task heads and flood painter)'
    HEADS = OrderedDict([('d', 'depth'), ('s', 'segmentation'), ('h', 'height'), ('w', 'water mask')])

    def outputs(self, image):
        G = unwrap(self.model.netG)
        x = self.image_batch(image, self.opt.input_nc, G.encoder, 'omnigan')
        out = self.session.run(lambda: G(x), seed=self.opt.seed)
        result = OrderedDict()
        for task, name in self.HEADS.items():
            if task in out:
                result[name] = tensor_to_image(self.model._visual(task, out[task]))
        for target, name in (('f', 'flooded (painter)'), ('n', 'not flooded')):
            if target in out.get('t', {}):
                result[name] = tensor_to_image(out['t'][target])
        for target, name in (('r', 'real style'), ('s', 'simulated style')):
            if target in out.get('a', {}):
                result[name] = tensor_to_image(out['a'][target])
        return result

    def output_names(self):
        G = unwrap(self.model.netG)
        names = [name for task, name in self.HEADS.items() if task in G.tasks]
        if 't' in G.tasks:
            names += ['flooded (painter)', 'not flooded']
        if 'a' in G.tasks:
            names += ['real style', 'simulated style']
        return names

    def build(self, gr):
        with gr.Row():
            with gr.Column():
                image = gr.Image(type='pil', format='png', height=IMAGE_HEIGHT, image_mode=None, label='input image', elem_id='input-image',
                                 sources=['upload', 'clipboard'])
                button = gr.Button('Run all heads', variant='primary', elem_id='run-button')
                timing = gr.Markdown()
            with gr.Column():
                comps = [gr.Image(type='numpy', format='png', height=IMAGE_HEIGHT, label=name, interactive=False) for name in self.output_names()]

        def run(im):
            out = self.outputs(im)
            return [out[name] for name in self.output_names()] + [latency_text(self.session)]
        button.click(guarded(run), image, comps + [timing], api_name='heads')


# ---------------------------------------------------------------------------------------------- blobgan

@page_for('blobgan')
class BlobganPage(Page):
    """Sample a scene from a seed (with truncation), see its blobs, then move / resize / restyle / remove one
    and regenerate with the model's editing API (models/blobgan/editing.py)."""

    title = 'BlobGAN (sample and edit blobs)'
    def __init__(self, session):
        super().__init__(session)
        self.G = unwrap(self.model.netG_ema)

    def layout_for(self, seed, truncation):
        """Layout of sample ``seed``; truncation t in [0, 1] pulls the last layout-MLP latent towards its mean
        (0: none, 1: the mean layout): the generator's own published truncation, as test.py --truncate."""
        t = float(truncation)
        if not 0.0 <= t <= 1.0:
            raise AppInputError(f'truncation must be in [0, 1] (got {t})')
        z = self.G.sample_noise(1, torch.Generator().manual_seed(int(seed))).to(self.session.device)
        return self.G.layout(z, truncate=t or None)

    def render(self, layout):
        from models.blobgan import draw_layout
        from models.blobgan.editing import regenerate
        image = regenerate(self.G, layout).float().clamp(-1, 1)
        drawn = draw_layout(image, layout, self.G.ab_norm)
        return tensor_to_image(image), tensor_to_image(drawn)

    def sample(self, seed, truncation):
        """(image, image with the blob layout drawn over it, layout) of sample ``seed``."""
        def run():
            layout = self.layout_for(seed, truncation)
            return (*self.render(layout), {k: v.detach().cpu() for k, v in layout.items()})
        return self.session.run(run)

    def edit(self, layout, blob, dx=0.0, dy=0.0, size_delta=0.0, style_seed=None, remove=False):
        """Apply one edit to blob ``blob`` of ``layout`` and regenerate: returns (image, drawn, new layout)."""
        from models.blobgan import editing
        if layout is None:
            raise AppInputError('sample a scene first')
        k = layout['xs'].shape[1]
        try:
            blob = int(blob)
        except (TypeError, ValueError):
            raise AppInputError(f'choose a blob between 0 and {k - 1}') from None
        if not 0 <= blob < k:
            raise AppInputError(f'blob {blob} does not exist: this model has blobs 0 to {k - 1}')
        style = None
        if style_seed is not None and str(style_seed).strip() != '':
            try:
                style = int(float(str(style_seed).strip()))
            except ValueError:
                raise AppInputError(f'the restyle seed must be a whole number, not {style_seed!r}') from None

        def run():
            lay = {key: v.to(self.session.device) for key, v in layout.items()}
            if remove:
                lay = editing.remove_blob(lay, blob)
            else:
                if dx or dy:
                    lay = editing.move_blob(lay, blob, dx=float(dx), dy=float(dy))
                if size_delta:
                    lay = editing.resize_blob(lay, blob, delta=float(size_delta))
                if style is not None:
                    source = self.layout_for(style, 0.0)
                    lay = editing.restyle_blob(lay, blob, source=source, source_idx=blob)
            return (*self.render(lay), {key: v.detach().cpu() for key, v in lay.items()})
        return self.session.run(run)

    def describe(self):
        opt = self.opt
        return (f'**{opt.name}** — `--model blobgan`, {opt.n_blobs} blobs, {self.G.out_shape[0]}x{self.G.out_shape[1]} '
                f'px, G_ema of epoch `{opt.epoch}`, device `{opt.device}`')

    def blob_table(self, layout):
        rows = []
        for j in range(layout['xs'].shape[1]):
            size = float(layout['sizes'][0, j + 1])
            rows.append([j, round(float(layout['xs'][0, j]), 3), round(float(layout['ys'][0, j]), 3),
                         round(size, 2), 'hidden' if size < -50 else 'visible'])
        return rows

    def build(self, gr):
        k = self.G.layout_net.n_blobs
        state = gr.State(None)
        with gr.Row():
            with gr.Column():
                seed = gr.Number(value=0, precision=0, label='seed', elem_id='seed')
                trunc = gr.Slider(0.0, 1.0, value=0.0, step=0.05, label='truncation (0: none, 1: mean layout)')
                sample_btn = gr.Button('Sample', variant='primary', elem_id='run-button')
                gr.Markdown('**Edit a blob** (numbered as in the table; blob k has the k-th outline colour)')
                blob = integer_dropdown(gr, range(k), value=0, label='blob')
                dx = gr.Slider(-0.5, 0.5, value=0.0, step=0.01, label='move x (fraction of the width)')
                dy = gr.Slider(-0.5, 0.5, value=0.0, step=0.01, label='move y (fraction of the height)')
                size = gr.Slider(-5.0, 5.0, value=0.0, step=0.1, label='resize (change of the size logit)')
                style_seed = gr.Textbox(value='', label='restyle: copy this blob\'s style from the sample of seed '
                                                        '(empty: keep its style)')
                with gr.Row():
                    edit_btn = gr.Button('Apply edit', elem_id='edit-button')
                    remove_btn = gr.Button('Remove blob', elem_id='remove-button')
            with gr.Column():
                image = gr.Image(type='numpy', format='png', height=IMAGE_HEIGHT, label='generated scene', interactive=False, elem_id='output-image')
                drawn = gr.Image(type='numpy', format='png', height=IMAGE_HEIGHT, label='blob layout', interactive=False, elem_id='layout-image')
                table = gr.Dataframe(headers=['blob', 'x', 'y', 'size', 'state'], label='blobs', interactive=False)
                timing = gr.Markdown()

        def do_sample(s, t):
            img, lay_img, lay = self.sample(s, t)
            return img, lay_img, lay, self.blob_table(lay), latency_text(self.session)

        def do_edit(lay, b, x, y, sz, st):
            img, lay_img, new = self.edit(lay, b, x, y, sz, st)
            return img, lay_img, new, self.blob_table(new), latency_text(self.session)

        def do_remove(lay, b):
            img, lay_img, new = self.edit(lay, b, remove=True)
            return img, lay_img, new, self.blob_table(new), latency_text(self.session)

        outs = [image, drawn, state, table, timing]
        sample_btn.click(guarded(do_sample), [seed, trunc], outs, api_name='sample')
        edit_btn.click(guarded(do_edit), [state, blob, dx, dy, size, style_seed], outs, api_name='edit')
        remove_btn.click(guarded(do_remove), [state, blob], outs, api_name='remove')


# ---------------------------------------------------------------------------------------------- gan

@page_for('gan')
class GanPage(Page):
    """GAN: a grid of samples drawn from a seed (the model's own noise: --noise, --truncation; with --condition
    class, sample i is of class i mod --n_classes)."""

    title = 'GAN (samples from noise)'

    def samples(self, seed, n_samples):
        """(grid image, list of sample images) of ``n_samples`` latents drawn from ``seed``."""
        n = int(n_samples)
        if not 1 <= n <= 64:
            raise AppInputError(f'the number of samples must be between 1 and 64 (got {n})')
        gen = torch.Generator().manual_seed(int(seed))

        def run():
            z = self.model.sample_noise(n, gen, 'cpu').to(self.session.device)
            # class-conditional runs: sample i is of class i mod --n_classes, as in test.py
            labels = self.model.class_labels(range(n)) if getattr(self.model, 'conditional', False) else None
            return self.model.run_G(z, labels).float().clamp(-1, 1)

        from models.gan_model import make_grid
        images = self.session.run(run)
        return tensor_to_image(make_grid(images)), [tensor_to_image(im) for im in images]

    def build(self, gr):
        with gr.Row():
            with gr.Column():
                seed = gr.Number(value=0, precision=0, label='seed', elem_id='seed')
                n = gr.Slider(1, 64, value=16, step=1, label='number of samples')
                button = gr.Button('Sample', variant='primary', elem_id='run-button')
            with gr.Column():
                grid = gr.Image(type='numpy', format='png', height=IMAGE_HEIGHT, label='samples', interactive=False,
                                elem_id='output-image')
                timing = gr.Markdown()
        button.click(guarded(lambda s, k: (self.samples(s, k)[0], latency_text(self.session))), [seed, n],
                     [grid, timing], api_name='sample')
