"""Saving and loading BlobGAN generators / encoders together with the hyperparameters that rebuild them.

A *bundle* is ``{'format': ..., 'config': {...}, 'state_dict': {...}}`` written atomically. Scripts take a
bundle path; a plain ``*_net_G_ema.pth`` state dict also works when a ``blobgan_config.json`` written by
the training run sits next to it.
"""
import json
import os

import torch

from util.util import atomic_torch_save
from .discriminator import BlobEncoder, discriminator_channels
from .generator import BlobGenerator
from .published import is_lightning_blobgan, load_published_generator, read_lightning_checkpoint

GEN_FORMAT = 'blobgan-generator-v2'  # v2: the published architecture
ENC_FORMAT = 'blobgan-encoder-v2'
CONFIG_NAME = 'blobgan_config.json'


def save_generator(path, generator):
    """Writes a generator bundle (config + state dict)."""
    atomic_torch_save({'format': GEN_FORMAT, 'config': dict(generator.config),
                       'state_dict': generator.state_dict()}, path)


def _load(path, what):
    if not os.path.isfile(path):
        raise FileNotFoundError(f'{what} checkpoint {path!r} not found: train one first or check the path')
    try:
        return torch.load(path, map_location='cpu', weights_only=True)
    except Exception as err:  # corrupt file, not a torch checkpoint
        raise ValueError(f'cannot read {what} checkpoint {path!r}: {err}') from None


def load_generator(path, device='cpu'):
    """Loads a generator from a bundle, a published Lightning .ckpt (EMA weights), or a plain state dict with
    blobgan_config.json beside it."""
    if path.endswith('.ckpt') and os.path.isfile(path):
        obj = read_lightning_checkpoint(path)
    else:
        obj = _load(path, 'generator')
    if is_lightning_blobgan(obj):
        return load_published_generator(obj, device=device)
    if isinstance(obj, dict) and str(obj.get('format', '')).startswith('blobgan-generator-') and \
            obj.get('format') != GEN_FORMAT:
        raise ValueError(f'{path!r} was written by an older version of this project ({obj["format"]}), whose '
                         f'generator differs from the published one; retrain it')
    if isinstance(obj, dict) and obj.get('format') == GEN_FORMAT:
        config, state = obj['config'], obj['state_dict']
    else:
        cfg_path = os.path.join(os.path.dirname(os.path.abspath(path)), CONFIG_NAME)
        if not os.path.isfile(cfg_path):
            raise ValueError(f'{path!r} is not a BlobGAN generator bundle and no {CONFIG_NAME} sits next to it; '
                             f'use the <epoch>_blobgan_G_ema.ckpt file written by training')
        with open(cfg_path) as f:
            config = json.load(f)['generator']
        state = obj
    gen = BlobGenerator(**config)
    gen.load_state_dict(state)
    return gen.to(device).eval()


def save_encoder(path, encoder, extra=None):
    """Writes an encoder bundle (config incl. target mlp_idx, state dict, optional extra info)."""
    atomic_torch_save({'format': ENC_FORMAT, 'config': dict(encoder.config), 'state_dict': encoder.state_dict(),
                       'extra': extra or {}}, path)


def make_encoder(generator, mlp_idx=-1, c_model=64, channel_multiplier=2):
    """Encoder (StyleGAN2 discriminator trunk, widths ``c_model``) matching a generator's image shape and the
    latent at layout-MLP layer ``mlp_idx``."""
    cfg = generator.config
    config = dict(latent_dim=generator.layout_net.latent_dim(mlp_idx), size=cfg['size'],
                  aspect_ratio=cfg['aspect_ratio'], c_model=c_model, channel_multiplier=channel_multiplier)
    enc = BlobEncoder(**config)
    enc.config = dict(config, mlp_idx=mlp_idx)
    return enc


def load_encoder(path, device='cpu', generator=None):
    """Loads an encoder bundle, or the published BlobGANEX encoder file ({'model': state_dict, ...} written by
    pretrain_encoder.py / train_encoder.py, e.g. encoder_256x512.pt; needs ``generator`` for the image shape and
    targets mlp_idx -1). Returns (encoder, mlp_idx, extra)."""
    obj = _load(path, 'encoder')
    if isinstance(obj, dict) and isinstance(obj.get('model'), dict) and 'final_linear.1.weight' in obj['model']:
        if generator is None:
            raise ValueError(f'{path!r} is a published encoder file: it needs the generator to know the image shape')
        state = obj['model']
        cfg = generator.config
        top = state['convs.0.0.weight'].shape[0]
        unit = discriminator_channels(64, 2)[cfg['size']] / 64
        config = dict(latent_dim=state['final_linear.1.weight'].shape[0], size=cfg['size'],
                      aspect_ratio=cfg['aspect_ratio'], c_model=int(round(top / unit)), channel_multiplier=2)
        enc = BlobEncoder(**config)
        enc.config = dict(config, mlp_idx=-1)
        enc.load_state_dict(state)
        return enc.to(device).eval(), -1, {'stage': 'published', 'steps': obj.get('iter')}
    if not (isinstance(obj, dict) and obj.get('format') == ENC_FORMAT):
        raise ValueError(f'{path!r} is not a BlobGAN encoder bundle (write one with tools/blobgan/pretrain_encoder.py)')
    config = dict(obj['config'])
    mlp_idx = config.pop('mlp_idx')
    enc = BlobEncoder(**config)
    enc.config = dict(config, mlp_idx=mlp_idx)
    enc.load_state_dict(obj['state_dict'])
    return enc.to(device).eval(), mlp_idx, obj.get('extra', {})
