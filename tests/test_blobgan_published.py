"""Published BlobGAN Lightning checkpoints: key names and shapes written out here from the published modules
(dave-epstein/blobgan src/models/networks/{layoutnet,layoutstylegan,stylegan}.py, src/models/blobgan.py), random
values, loaded through the project's loader; plus the download script entry for the published files."""
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from models.blobgan.io import load_generator
from models.blobgan.published import PUBLISHED_URLS, generator_config, load_published_generator

REPO = Path(__file__).resolve().parents[1]


def published_state(prefix_g, prefix_l, *, size, size_in, c_model, feature_dim, style_dim, n_blobs, noise_dim,
                    hidden, n_mlp, aspect=1.0, seed=0):
    """The tensors the published BlobGAN module saves for its generator and layout net under the given prefixes."""
    gen = torch.Generator().manual_seed(seed)

    def r(*shape):
        return torch.randn(*shape, generator=gen)

    cm = 2
    ch = {4: c_model * 8, 8: c_model * 8, 16: c_model * 8, 32: c_model * 8, 64: c_model * 4 * cm,
          128: c_model * 2 * cm, 256: c_model * cm}
    sd = {}
    # LayoutGenerator.mlp = StyleMLP: [PixelNorm, EqualLinear x n_mlp]; output (fd + sd + 7) K + sd + fd + 1
    out_dim = (feature_dim + style_dim + 7) * n_blobs + style_dim + feature_dim + 1
    for i in range(n_mlp):
        din = noise_dim if i == 0 else hidden
        dout = out_dim if i == n_mlp - 1 else hidden
        sd[f'{prefix_l}mlp.{i + 1}.weight'] = r(dout, din)
        sd[f'{prefix_l}mlp.{i + 1}.bias'] = r(dout) * 0.1

    def styled(name, cin, cout, k, upsample=False, demod=True):
        sd[f'{name}.conv.weight'] = r(1, cout, cin, k, k)
        sd[f'{name}.conv.modulation.weight'] = r(cin, style_dim)
        sd[f'{name}.conv.modulation.bias'] = torch.ones(cin) + 0.1 * r(cin)
        if upsample:
            sd[f'{name}.conv.blur.kernel'] = torch.tensor([1., 3, 3, 1])[:, None] * torch.tensor([1., 3, 3, 1]) / 16
    styled(f'{prefix_g}conv1', feature_dim, ch[size_in], 3)
    sd[f'{prefix_g}conv1.noise.weight'] = r(1) * 0.1
    sd[f'{prefix_g}conv1.activate.bias'] = r(ch[size_in]) * 0.1
    sd[f'{prefix_g}to_rgb1.conv.weight'] = r(1, 3, ch[size_in], 1, 1)
    sd[f'{prefix_g}to_rgb1.conv.modulation.weight'] = r(ch[size_in], style_dim)
    sd[f'{prefix_g}to_rgb1.conv.modulation.bias'] = torch.ones(ch[size_in])
    sd[f'{prefix_g}to_rgb1.bias'] = r(1, 3, 1, 1) * 0.1
    kernel = (torch.tensor([1., 3, 3, 1])[:, None] * torch.tensor([1., 3, 3, 1])) / 64 * 4
    prev, res, j = ch[size_in], size_in * 2, 0
    while res <= size:
        styled(f'{prefix_g}convs.{2 * j}', prev, ch[res], 3, upsample=True)
        sd[f'{prefix_g}convs.{2 * j}.conv.blur.kernel'] = kernel.clone()
        styled(f'{prefix_g}convs.{2 * j + 1}', ch[res], ch[res], 3)
        for c in (2 * j, 2 * j + 1):
            sd[f'{prefix_g}convs.{c}.noise.weight'] = r(1) * 0.1
            sd[f'{prefix_g}convs.{c}.activate.bias'] = r(ch[res]) * 0.1
        sd[f'{prefix_g}to_rgbs.{j}.upsample.kernel'] = kernel.clone()
        sd[f'{prefix_g}to_rgbs.{j}.conv.weight'] = r(1, 3, ch[res], 1, 1)
        sd[f'{prefix_g}to_rgbs.{j}.conv.modulation.weight'] = r(ch[res], style_dim)
        sd[f'{prefix_g}to_rgbs.{j}.conv.modulation.bias'] = torch.ones(ch[res])
        sd[f'{prefix_g}to_rgbs.{j}.bias'] = r(1, 3, 1, 1) * 0.1
        prev, res, j = ch[res], res * 2, j + 1
    n_layers = 2 * j + 1
    for i in range(n_layers):  # published buffer shapes: 2^((i+5)//2), width * aspect
        h = 2 ** ((i + 5) // 2)
        sd[f'{prefix_g}noises.noise_{i}'] = r(1, 1, h, int(aspect * h))
    return sd


TINY = dict(size=32, size_in=8, c_model=2, feature_dim=16, style_dim=8, n_blobs=3, noise_dim=8, hidden=16, n_mlp=3)


def lightning_checkpoint(aspect=1.0):
    state = published_state('generator_ema.', 'layout_net_ema.', aspect=aspect, seed=0, **TINY)
    state.update(published_state('generator.', 'layout_net.', aspect=aspect, seed=1, **TINY))
    state['discriminator.convs.0.0.weight'] = torch.randn(4, 3, 1, 1)  # ignored for sampling
    hparams = {'generator': {'name': 'models.networks.layoutstylegan.LayoutStyleGANGenerator', 'style_dim': 8,
                             'n_mlp': 8, 'size_in': 8, 'c_model': 2, 'spatial_style': True, 'size': 32,
                             'override_c_in': 16},
               'layout_net': {'n_features_max': 3, 'feature_dim': 16, 'style_dim': 8, 'noise_dim': 8,
                              'norm_features': True, 'mlp_lr_mul': 0.01, 'mlp_hidden_dim': 16},
               'dim': 8, 'noise_dim': 8, 'resolution': 32, 'n_features_max': 3, 'spatial_style': True,
               'feature_jitter_xy': 0.04, 'feature_jitter_shift': 0.5, 'feature_jitter_angle': 0.1,
               'ab_norm': 0.02, 'aspect_ratio': aspect}
    return {'epoch': 3, 'global_step': 1500, 'pytorch-lightning_version': '1.5.10', 'state_dict': state,
            'hyper_parameters': hparams}


@pytest.mark.parametrize('aspect', [1.0, 2.0])
def test_published_checkpoint_loads_with_ema_weights_and_generates(tmp_path, aspect):
    ckpt = lightning_checkpoint(aspect)
    cfg = generator_config(ckpt['state_dict'], ckpt['hyper_parameters'])
    assert (cfg['n_blobs'], cfg['feature_dim'], cfg['style_dim'], cfg['size_in'], cfg['aspect_ratio']) == \
        (3, 16, 8, 8, aspect)
    assert cfg['norm_features'] and cfg['jitter_xy'] == 0.04
    path = str(tmp_path / 'bedrooms.ckpt')
    torch.save(ckpt, path)
    gen = load_generator(path)
    sd = ckpt['state_dict']
    # EMA weights are the ones loaded (published sampling uses generator_ema / layout_net_ema)
    assert torch.equal(gen.synthesis.conv1.conv.weight, sd['generator_ema.conv1.conv.weight'])
    assert torch.equal(gen.layout_net.mlp[3].weight, sd['layout_net_ema.mlp.3.weight'])
    assert not torch.equal(gen.synthesis.conv1.conv.weight, sd['generator.conv1.conv.weight'])
    with torch.no_grad():
        img = gen(gen.sample_noise(2, torch.Generator().manual_seed(0)), noise_mode='const')
    assert img.shape == (2, 3, 32, int(32 * aspect)) and torch.isfinite(img).all()
    raw = load_published_generator(ckpt, ema=False)
    assert torch.equal(raw.synthesis.conv1.conv.weight, sd['generator.conv1.conv.weight'])


def test_published_checkpoint_errors_are_clear(tmp_path):
    ckpt = lightning_checkpoint()
    del ckpt['state_dict']['generator_ema.to_rgbs.0.bias']
    with pytest.raises(ValueError, match='does not match|missing'):
        load_published_generator(ckpt)
    bad = lightning_checkpoint()
    bad['state_dict']['layout_net_ema.mlp.3.weight'] = torch.randn(17, 16)
    with pytest.raises(ValueError, match='does not fit'):
        load_published_generator(bad)
    # a pickled (non-tensor) hyper-parameter object is refused by safe loading, with the way out named
    path = str(tmp_path / 'pickled.ckpt')
    ckpt = lightning_checkpoint()
    ckpt['hyper_parameters']['extra'] = Path('x')
    torch.save(ckpt, path)
    with pytest.raises(ValueError, match='ZOO_TRUST_PICKLE=1'):
        load_generator(path)
    os.environ['ZOO_TRUST_PICKLE'] = '1'
    try:
        assert load_generator(path).config['n_blobs'] == 3
    finally:
        del os.environ['ZOO_TRUST_PICKLE']


def test_published_urls_and_download_script(tmp_path):
    assert PUBLISHED_URLS['bed'] == 'http://efrosgans.eecs.berkeley.edu/blobgan/bedrooms.ckpt'
    assert PUBLISHED_URLS['bed_no_jitter'].endswith('/blobgan/bedrooms93.ckpt')
    assert PUBLISHED_URLS['kitchen'].endswith('/blobgan/kitchen_living_dining.ckpt')
    assert PUBLISHED_URLS['conference'].endswith('/blobgan/conference_rooms.ckpt')
    script = REPO / 'scripts' / 'download_blobgan_model.sh'
    out = subprocess.run(['bash', str(script), '--list'], capture_output=True, text=True, timeout=60)
    assert out.stdout.split() == ['bed', 'bed_no_jitter', 'kitchen', 'conference']
    bad = subprocess.run(['bash', str(script), 'church'], capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and 'Valid names' in bad.stderr


def test_download_script_fetches_the_published_file_layout(tmp_path):
    """Against a local server laid out like the published host: <base>/blobgan/bedrooms.ckpt."""
    import http.server
    import threading
    root = tmp_path / 'srv'
    (root / 'blobgan').mkdir(parents=True)
    torch.save(lightning_checkpoint(), root / 'blobgan' / 'bedrooms.ckpt')
    torch.save(torch.zeros(16), root / 'blobgan' / 'bedrooms_mean_latent.pt')

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a, **k):
            super().__init__(*a, directory=str(root), **k)

        def log_message(self, *a):
            pass

    httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Quiet)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        env = dict(os.environ, GAN_DOWNLOAD_BASE_URL=f'http://127.0.0.1:{httpd.server_address[1]}')
        out = subprocess.run(['bash', str(REPO / 'scripts' / 'download_blobgan_model.sh'), '--checkpoints_dir',
                              str(tmp_path / 'ck'), 'bed'], capture_output=True, text=True, timeout=60, env=env)
    finally:
        httpd.shutdown()
    assert out.returncode == 0, out.stderr
    dest = tmp_path / 'ck' / 'blobgan_bed'
    assert sorted(p.name for p in dest.iterdir()) == ['bedrooms.ckpt', 'bedrooms_mean_latent.pt']
    gen = load_generator(str(dest / 'bedrooms.ckpt'))
    assert gen.config['n_blobs'] == 3 and sys.modules['models.blobgan.published']


@pytest.mark.parametrize('fixture,shape', [('blobgan_published_tiny.pt', (2, 3, 32, 32)),
                                           ('blobgan_published_tiny_2to1.pt', (2, 3, 32, 64))])
def test_generator_matches_the_published_code_on_a_fixture(fixture, shape):
    """Output of the published generator (dave-epstein/blobgan; BlobGANEX for 2:1) for fixed weights, latent and noise,
    recorded by tests/fixtures/make_blobgan_published_fixture.py; the project's generator must reproduce it."""
    fx = torch.load(REPO / 'tests' / 'fixtures' / fixture, weights_only=True)
    gen = load_published_generator(fx)
    with torch.no_grad():
        img = gen(fx['z'], noise_mode=fx['noise'])
    assert img.shape == fx['image'].shape == shape
    assert (img - fx['image']).abs().max() < 1e-4
    # the comparison is sharp: another latent gives another image
    with torch.no_grad():
        other = gen(fx['z'].flip(0), noise_mode=fx['noise'])
    assert (other - fx['image']).abs().max() > 1e-2


def test_training_starts_from_a_published_checkpoint(tmp_path):
    """--published_init copies generator, generator_ema and discriminator (the D keys are the published
    StyleGANDiscriminator's: convs.*, final_conv.*, final_linear.*)."""
    from models import create_model
    from models.blobgan import BlobDiscriminator
    from options.train_options import TrainOptions
    ckpt = lightning_checkpoint()
    torch.manual_seed(3)
    d = BlobDiscriminator(32, 1.0, c_model=2)
    assert {k.split('.')[0] for k in d.state_dict()} == {'convs', 'final_conv', 'final_linear'}
    ckpt['state_dict'] = {k: v for k, v in ckpt['state_dict'].items() if not k.startswith('discriminator.')}
    ckpt['state_dict'].update({f'discriminator.{k}': v for k, v in d.state_dict().items()})
    path = str(tmp_path / 'published.ckpt')
    torch.save(ckpt, path)
    args = ['--model', 'blobgan', '--crop_size', '32', '--size_in', '8', '--n_blobs', '3', '--feature_dim', '16',
            '--style_dim', '8', '--noise_dim', '8', '--layout_hidden', '16', '--layout_layers', '3', '--g_c_model', '2',
            '--d_c_model', '2', '--dataroot', str(tmp_path), '--checkpoints_dir', str(tmp_path), '--display_id', '0',
            '--gpu_ids', '-1', '--published_init', path]
    model = create_model(TrainOptions(args).parse())
    sd = ckpt['state_dict']
    assert torch.equal(model.netG.synthesis.conv1.conv.weight, sd['generator.conv1.conv.weight'])
    assert torch.equal(model.netG_ema.synthesis.conv1.conv.weight, sd['generator_ema.conv1.conv.weight'])
    assert torch.equal(model.netD.final_linear[1].weight, d.final_linear[1].weight)
    with pytest.raises(ValueError, match='do not fit'):
        create_model(TrainOptions([a if a != '3' else '4' for a in args]).parse())  # --n_blobs 4
