"""Loading the published BlobGAN / BlobGANEX PyTorch-Lightning checkpoints into the project's generator.

The published ``BlobGAN`` LightningModule stores ``generator``, ``generator_ema``, ``layout_net``,
``layout_net_ema`` and ``discriminator`` in one ``state_dict``, and its constructor arguments in
``hyper_parameters``. Our modules use the same names below those prefixes, so the mapping is

    layout_net_ema.<x> -> layout_net.<x>      generator_ema.<x> -> synthesis.<x>     (G_ema, used for sampling)
    layout_net.<x>     -> layout_net.<x>      generator.<x>     -> synthesis.<x>     (G, training weights)
    discriminator.<x>  -> <x>                                                         (D)

Sizes (blob count, vector sizes, widths, aspect ratio) are read from the tensor shapes; resolution, size_in, jitter
and ab_norm from ``hyper_parameters`` (with the published defaults when absent).
Published files: ``PUBLISHED_URLS`` (scripts/download_blobgan_model.sh fetches them).
"""
import os

import torch

from .generator import BlobGenerator

BASE_URL = 'http://efrosgans.eecs.berkeley.edu/blobgan/'
# name -> file (dave-epstein/blobgan src/utils/colab.py get_model_name / download)
PUBLISHED_MODELS = {
    'bed': 'bedrooms.ckpt',
    'bed_no_jitter': 'bedrooms93.ckpt',
    'kitchen': 'kitchen_living_dining.ckpt',
    'conference': 'conference_rooms.ckpt',
}
PUBLISHED_URLS = {name: BASE_URL + f for name, f in PUBLISHED_MODELS.items()}
MEAN_LATENT_URLS = {name: BASE_URL + f.replace('.ckpt', '_mean_latent.pt') for name, f in PUBLISHED_MODELS.items()}


def _get(d, key, default=None):
    try:
        value = d[key]
    except (KeyError, TypeError, IndexError):
        return default
    return default if value is None else value


def read_lightning_checkpoint(path):
    """Loads a Lightning .ckpt as plain tensors. Published files pickle their hyper-parameters (omegaconf
    objects), which ``weights_only`` loading refuses: set ZOO_TRUST_PICKLE=1 to load such a file you trust."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f'checkpoint {path!r} not found (published files: scripts/download_blobgan_model.sh)')
    try:
        return torch.load(path, map_location='cpu', weights_only=True)
    except Exception as err:
        if os.environ.get('ZOO_TRUST_PICKLE') == '1':
            return torch.load(path, map_location='cpu', weights_only=False)
        raise ValueError(f'cannot read {path!r} with safe (weights-only) loading: {str(err).splitlines()[0]}. '
                         f'Published Lightning checkpoints pickle their configuration; if you trust the file '
                         f'(e.g. downloaded from {BASE_URL}), rerun with ZOO_TRUST_PICKLE=1') from None


def is_lightning_blobgan(obj):
    return (isinstance(obj, dict) and isinstance(obj.get('state_dict'), dict)
            and any(k.startswith(('generator_ema.', 'generator.')) for k in obj['state_dict']))


def is_blobganex(hparams):
    """A BlobGANEX checkpoint: its model records ``aspect_ratio`` (a field dave-epstein/blobgan's model lacks); its
    layout network always detaches the blob covariances (X layoutnet.py ``ret['covs'].detach()``)."""
    return _get(hparams or {}, 'aspect_ratio') is not None


def _sub(state, prefix):
    return {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}


def generator_config(state, hparams=None, ema=True):
    """Our BlobGenerator keyword arguments for a published state dict (shapes) and hyper-parameters."""
    hp = hparams or {}
    gen_hp, lay_hp = _get(hp, 'generator', {}), _get(hp, 'layout_net', {})
    g = _sub(state, 'generator_ema.' if ema else 'generator.')
    lay = _sub(state, 'layout_net_ema.' if ema else 'layout_net.')
    if 'conv1.conv.weight' not in g or not lay:
        raise ValueError('not a BlobGAN checkpoint: no generator_ema.conv1.conv.weight / layout_net_ema.mlp.* keys')
    c_in0, feature_dim = g['conv1.conv.weight'].shape[1:3]
    style_dim = g['conv1.conv.modulation.weight'].shape[1]
    linear = sorted(int(k.split('.')[1]) for k in lay if k.startswith('mlp.') and k.endswith('.weight'))
    n_mlp = len(linear)
    noise_dim = lay[f'mlp.{linear[0]}.weight'].shape[1]
    hidden_dim = lay[f'mlp.{linear[0]}.weight'].shape[0]
    out_dim = lay[f'mlp.{linear[-1]}.weight'].shape[0]
    k, rem = divmod(out_dim - 1 - feature_dim - style_dim, 7 + feature_dim + style_dim)
    if rem or k < 1:
        raise ValueError(f'layout MLP output size {out_dim} does not fit feature_dim {feature_dim} and style_dim '
                         f'{style_dim}: not a spatial-style BlobGAN checkpoint')
    n_up = len({key.split('.')[1] for key in g if key.startswith('to_rgbs.')})
    size = int(_get(gen_hp, 'size', _get(hp, 'resolution', 256)))
    size_in = size // 2 ** n_up
    noise0 = g.get('noises.noise_0')
    aspect = float(noise0.shape[-1] / noise0.shape[-2]) if noise0 is not None else float(_get(hp, 'aspect_ratio', 1.0))
    cm = int(_get(gen_hp, 'channel_multiplier', 2))
    c_model = int(_get(gen_hp, 'c_model', c_in0 // 8 if size_in <= 32 else 64))
    return dict(size=size, size_in=size_in, aspect_ratio=aspect, n_blobs=int(k), noise_dim=int(noise_dim),
                hidden_dim=int(hidden_dim), n_mlp=n_mlp, feature_dim=int(feature_dim), style_dim=int(style_dim),
                c_model=c_model, channel_multiplier=cm, layout_lr_mul=float(_get(lay_hp, 'mlp_lr_mul', 0.01)),
                norm_features=bool(_get(lay_hp, 'norm_features', False)), detach_shapes=is_blobganex(hp),
                ab_norm=float(_get(hp, 'ab_norm', 0.02)), jitter_xy=float(_get(hp, 'feature_jitter_xy', 0.0)),
                jitter_shift=float(_get(hp, 'feature_jitter_shift', 0.0)),
                jitter_angle=float(_get(hp, 'feature_jitter_angle', 0.0)))


def generator_state(state, ema=True):
    """Published keys -> our BlobGenerator keys."""
    g, lay = ('generator_ema.', 'layout_net_ema.') if ema else ('generator.', 'layout_net.')
    out = {'synthesis.' + k: v for k, v in _sub(state, g).items()}
    out.update({'layout_net.' + k: v for k, v in _sub(state, lay).items()})
    return out


def load_published_generator(path_or_obj, ema=True, device='cpu', mean_latent=None):
    """Our BlobGenerator with the weights of a published checkpoint (EMA weights by default, as the published
    code samples). ``mean_latent``: optional published ``*_mean_latent.pt`` file (truncation centre)."""
    obj = read_lightning_checkpoint(path_or_obj) if isinstance(path_or_obj, str) else path_or_obj
    if not is_lightning_blobgan(obj):
        raise ValueError('not a published BlobGAN Lightning checkpoint (no state_dict with generator_ema.* keys)')
    state = obj['state_dict']
    if ema and not any(k.startswith('generator_ema.') for k in state):
        raise ValueError('checkpoint has no generator_ema.* weights (trained with accumulate=False); pass ema=False')
    gen = BlobGenerator(**generator_config(state, obj.get('hyper_parameters'), ema))
    missing, unexpected = gen.load_state_dict(generator_state(state, ema), strict=False)
    if missing or unexpected:
        raise ValueError(f'published checkpoint does not match the generator: missing {missing[:5]}, '
                         f'unexpected {unexpected[:5]}')
    if mean_latent is not None:
        m = torch.load(mean_latent, map_location='cpu', weights_only=True) if isinstance(mean_latent, str) \
            else mean_latent
        gen.mean_latent.copy_(m.reshape(1, -1))
        gen.has_mean_latent = True
    return gen.to(device).eval()


def load_published_training_weights(path_or_obj, netG, netG_ema, netD):
    """Copies a published checkpoint's generator, EMA generator and discriminator into our networks (to continue
    training from it). The networks must have been built with the checkpoint's sizes; a mismatch is a clear error."""
    obj = read_lightning_checkpoint(path_or_obj) if isinstance(path_or_obj, str) else path_or_obj
    if not is_lightning_blobgan(obj):
        raise ValueError('not a published BlobGAN Lightning checkpoint (no state_dict with generator_ema.* keys)')
    state = obj['state_dict']
    parts = [(netG, generator_state(state, ema=False), 'generator'), (netD, _sub(state, 'discriminator.'), 'D')]
    if any(k.startswith('generator_ema.') for k in state):
        parts.append((netG_ema, generator_state(state, ema=True), 'generator_ema'))
    for net, sd, what in parts:
        own = net.state_dict()
        bad = sorted(k for k in sd if k in own and tuple(own[k].shape) != tuple(sd[k].shape))
        missing = sorted(set(own) - set(sd))
        if bad or missing or not sd:
            raise ValueError(f'the published {what} weights do not fit the networks built from the options '
                             f'(shape mismatch {bad[:3]}, missing {missing[:3]}); set --n_blobs, --feature_dim, '
                             f'--style_dim, --size_in, --crop_size, --aspect_ratio, --g_c_model, --d_c_model as the '
                             f'checkpoint was trained (or use its --config preset)')
        net.load_state_dict({k: v for k, v in sd.items() if k in own})
    if len(parts) == 2:  # no EMA in the file: start the EMA from the generator
        netG_ema.load_state_dict(netG.state_dict())
