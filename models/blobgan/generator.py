"""BlobGAN generator: layout network + splatting + StyleGAN2 synthesis with spatially varying styles.

As published (``LayoutStyleGANGenerator`` with ``spatial_style``): the splatted ``features`` replace StyleGAN2's
constant input at ``size_in`` (so ``feature_dim`` must equal the published ``override_c_in``, or the width at
``size_in`` when that is unset); every layer is modulated by the blobs' ``spatial_style`` vectors splatted with the
alpha pyramid at that layer's input resolution. Widths: c_model * {8 up to 32 px, 4*cm at 64, 2*cm at 128,
cm at 256, cm/2 at 512, cm/4 at 1024} with channel multiplier cm = 2 (c_model 96: 768, 768, 384, 192).
"""
import math

import torch
import torch.nn as nn

from .layout import LayoutNetwork, check_layout
from .ops import SpatialStyledConv, SpatialToRGB
from .splat import splat


def output_shape(size, aspect_ratio):
    """(H, W) of an image of height ``size`` and width ``size * aspect_ratio``."""
    w = size * aspect_ratio
    if abs(w - round(w)) > 1e-6:
        raise ValueError(f'size*aspect_ratio must be an integer, got {size}*{aspect_ratio}')
    return size, int(round(w))


def generator_channels(c_model, channel_multiplier=2):
    """Published generator widths per resolution."""
    cm = channel_multiplier
    return {4: c_model * 8, 8: c_model * 8, 16: c_model * 8, 32: c_model * 8, 64: c_model * 4 * cm,
            128: c_model * 2 * cm, 256: c_model * cm, 512: c_model // 2 * cm, 1024: c_model // 4 * cm}


class SynthesisNetwork(nn.Module):
    """Decoder from blob maps to an image of height ``size`` starting at height ``size_in``.

    Module names follow the published generator (conv1, to_rgb1, convs, to_rgbs, noises.noise_<i>).
    """

    def __init__(self, size=256, size_in=16, aspect_ratio=1.0, feature_dim=768, style_dim=512, c_model=96,
                 channel_multiplier=2, out_channels=3):
        super().__init__()
        log_size, log_in = math.log2(size), math.log2(size_in) if size_in > 0 else -1
        if size_in < 4 or log_in != int(log_in) or log_size != int(log_size) or size < size_in or size > 1024:
            raise ValueError(f'size ({size}) and size_in ({size_in}) must be powers of two with 4 <= size_in <= size '
                             f'<= 1024')
        self.size, self.size_in, self.aspect_ratio = size, size_in, aspect_ratio
        self.out_shape = output_shape(size, aspect_ratio)
        self.in_shape = output_shape(size_in, aspect_ratio)
        ch = generator_channels(c_model, channel_multiplier)
        self.feature_dim = feature_dim
        self.conv1 = SpatialStyledConv(feature_dim, ch[size_in], style_dim)
        self.to_rgb1 = SpatialToRGB(ch[size_in], style_dim, upsample=False, out_ch=out_channels)
        self.num_layers = (int(log_size) - int(log_in)) * 2 + 1
        self.resolutions = [size_in * 2 ** i for i in range(int(log_size) - int(log_in) + 1)]
        self.convs, self.to_rgbs = nn.ModuleList(), nn.ModuleList()
        prev = ch[size_in]
        for res in self.resolutions[1:]:
            self.convs.append(SpatialStyledConv(prev, ch[res], style_dim, upsample=True))
            self.convs.append(SpatialStyledConv(ch[res], ch[res], style_dim))
            self.to_rgbs.append(SpatialToRGB(ch[res], style_dim, out_ch=out_channels))
            prev = ch[res]
        # the published module keeps one noise buffer per layer (shapes 4 * 2^((i+1)//2), a StyleGAN2 leftover that
        # does not match the layers when size_in > 4); kept so published state dicts load strictly
        self.noises = nn.Module()
        for i in range(self.num_layers):
            h = 2 ** ((i + 5) // 2)
            self.noises.register_buffer(f'noise_{i}', torch.randn(1, 1, h, int(aspect_ratio * h)))
        # fixed noise of the right shapes for noise_mode='const' (edits and inversions are deterministic):
        # a function of the architecture only, so every copy of a model draws the same
        gen = torch.Generator().manual_seed(1234)
        self._const_shapes = [output_shape(self.resolutions[(i + 1) // 2], aspect_ratio) for i in range(self.num_layers)]
        for i, (h, w) in enumerate(self._const_shapes):
            self.register_buffer(f'const_noise_{i}', torch.randn(1, 1, h, w, generator=gen), persistent=False)

    def noise_list(self, batch, mode):
        """Per-layer noise: 'random' (fresh), 'const' (fixed buffers), 'none' (zeros) or a list of tensors."""
        if isinstance(mode, (list, tuple)):
            if len(mode) != self.num_layers:
                raise ValueError(f'noise list needs {self.num_layers} tensors, got {len(mode)}')
            return list(mode)
        if mode == 'random':
            return [None] * self.num_layers
        if mode not in ('const', 'none'):
            raise ValueError(f"noise_mode must be 'random', 'const' or 'none', got {mode!r}")
        out = []
        for i in range(self.num_layers):
            buf = getattr(self, f'const_noise_{i}')
            out.append((buf if mode == 'const' else torch.zeros_like(buf)).expand(batch, -1, -1, -1))
        return out

    def forward(self, x, styles, pyramid, noise_mode='random'):
        """x: splatted features (B, feature_dim, size_in, size_in*ar); styles: (B, K+1, style_dim);
        pyramid: {height: alphas (B, K+1, height, height*ar)}."""
        noise = self.noise_list(x.shape[0], noise_mode)
        out = self.conv1(x, styles, pyramid[self.size_in], noise[0])
        skip = self.to_rgb1(out, styles, pyramid[self.size_in])
        i = 1
        for j, to_rgb in enumerate(self.to_rgbs):
            up, conv = self.convs[2 * j], self.convs[2 * j + 1]
            out = up(out, styles, pyramid[int(out.shape[-2])], noise[i])
            out = conv(out, styles, pyramid[int(out.shape[-2])], noise[i + 1])
            skip = to_rgb(out, styles, pyramid[int(out.shape[-2])], skip)
            i += 2
        return skip


class BlobGenerator(nn.Module):
    """Full generator: noise -> layout -> image. ``render(layout)`` decodes an (edited) layout."""

    def __init__(self, size=256, size_in=16, aspect_ratio=1.0, n_blobs=10, noise_dim=512, hidden_dim=1024,
                 n_mlp=8, feature_dim=768, style_dim=512, c_model=96, channel_multiplier=2, layout_lr_mul=0.01,
                 norm_features=True, detach_shapes=False, ab_norm=0.02, jitter_xy=0.0, jitter_shift=0.0,
                 jitter_angle=0.0, score_size=None):
        super().__init__()
        self.config = dict(size=size, size_in=size_in, aspect_ratio=aspect_ratio, n_blobs=n_blobs,
                           noise_dim=noise_dim, hidden_dim=hidden_dim, n_mlp=n_mlp, feature_dim=feature_dim,
                           style_dim=style_dim, c_model=c_model, channel_multiplier=channel_multiplier,
                           layout_lr_mul=layout_lr_mul, norm_features=norm_features, detach_shapes=detach_shapes,
                           ab_norm=ab_norm, jitter_xy=jitter_xy, jitter_shift=jitter_shift, jitter_angle=jitter_angle,
                           score_size=score_size)
        self.layout_net = LayoutNetwork(n_blobs, noise_dim, hidden_dim, n_mlp, feature_dim, style_dim,
                                        lr_mul=layout_lr_mul, norm_features=norm_features, detach_shapes=detach_shapes)
        self.synthesis = SynthesisNetwork(size, size_in, aspect_ratio, feature_dim, style_dim, c_model,
                                          channel_multiplier)
        self.noise_dim = noise_dim
        self.ab_norm = ab_norm
        self.score_size = score_size or size  # published: the blob grid is the image height, square
        self.jitter = {'xy': jitter_xy, 'shift': jitter_shift, 'angle': jitter_angle}
        self.register_buffer('mean_latent', torch.zeros(1, hidden_dim if n_mlp > 1 else noise_dim), persistent=False)
        self.has_mean_latent = False

    @property
    def out_shape(self):
        return self.synthesis.out_shape

    def sample_noise(self, n, generator=None, device=None):
        """Gaussian noise for ``n`` images (pass a torch.Generator for reproducible samples)."""
        device = device or next(self.parameters()).device
        return torch.randn(n, self.noise_dim, generator=generator, device='cpu').to(device)

    @torch.no_grad()
    def compute_mean_latent(self, n=10000, seed=0, batch_size=1000):
        """Mean activation entering the last layout layer over ``n`` noise samples (published truncation centre)."""
        gen = torch.Generator().manual_seed(seed)
        total = 0
        for start in range(0, n, batch_size):
            z = self.sample_noise(min(batch_size, n - start), gen)
            total = total + self.layout_net.latent(z, -1).sum(0, keepdim=True)
        self.mean_latent.copy_(total / n)
        self.has_mean_latent = True
        return self.mean_latent

    def layout(self, z, truncate=None):
        """Layout for noise z; ``truncate`` t in [0, 1] pulls the last hidden activation towards the mean
        (published formula mean * t + h * (1 - t): 0 = none, 1 = the mean layout)."""
        if truncate:
            if not self.has_mean_latent:
                self.compute_mean_latent()
            h = self.layout_net.latent(z, -1)
            return self.layout_net.forward_from(self.mean_latent * truncate + h * (1 - truncate), -1)
        return self.layout_net(z)

    def splat(self, layout, jitter=False):
        return splat(layout, self.score_size, self.synthesis.size_in, self.synthesis.aspect_ratio, self.ab_norm,
                     self.jitter if jitter else None)

    def render(self, layout, noise_mode='const', jitter=False, return_placed=False):
        """Decodes a layout dict into images (N, 3, H, W), roughly in [-1, 1]; ``return_placed`` also returns the
        (jittered) blobs that were splatted (splat.placed_blobs: what the published layout metadata holds)."""
        check_layout(layout)
        s = self.splat(layout, jitter)
        img = self.synthesis(s['input'], layout['spatial_style'], s['pyramid'], noise_mode=noise_mode)
        return (img, s['placed']) if return_placed else img

    def forward(self, z, noise_mode='random', return_layout=False, jitter=False, truncate=None):
        layout = self.layout(z, truncate)
        img = self.render(layout, noise_mode, jitter)
        return (img, layout) if return_layout else img

    def from_latent(self, h, mlp_idx=-1, noise_mode='const', return_layout=False):
        """Generates from an intermediate layout-MLP activation (the inversion latent)."""
        layout = self.layout_net.forward_from(h, mlp_idx)
        img = self.render(layout, noise_mode)
        return (img, layout) if return_layout else img
