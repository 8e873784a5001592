"""BlobGAN generator: layout network + splatting + StyleGAN2-style synthesis with spatially varying styles.

The spatial feature map (splatted ``spatial_style`` vectors) replaces StyleGAN2's constant input at the
``size_in`` grid; every synthesis layer is modulated per pixel by the style map (splatted ``features``)
re-splatted at that layer's resolution, so blob edges stay sharp at every scale.
"""
import math

import torch
import torch.nn as nn

from .layout import LayoutNetwork, check_layout
from .ops import StyledLayer, ToRGB
from .splat import splat, splat_alphas, splat_features


def output_shape(size, aspect_ratio):
    """(H, W) of an image of height ``size`` and width ``size * aspect_ratio``."""
    w = size * aspect_ratio
    if abs(w - round(w)) > 1e-6:
        raise ValueError(f'size*aspect_ratio must be an integer, got {size}*{aspect_ratio}')
    return size, int(round(w))


class SynthesisNetwork(nn.Module):
    """Decoder from blob maps to an image of height ``size`` starting at height ``size_in``."""

    def __init__(self, size=256, size_in=16, aspect_ratio=1.0, spatial_dim=256, feature_dim=256,
                 channel_max=512, channel_base=16384, sharpness=25.0, out_channels=3):
        super().__init__()
        n_up = math.log2(size / size_in) if size_in > 0 else -1
        if size_in < 1 or n_up < 0 or n_up != int(n_up):
            raise ValueError(f'size ({size}) must be size_in ({size_in}) times a power of two')
        self.size, self.size_in, self.aspect_ratio, self.sharpness = size, size_in, aspect_ratio, sharpness
        self.out_shape = output_shape(size, aspect_ratio)
        self.in_shape = output_shape(size_in, aspect_ratio)

        def ch(res):
            return max(1, min(channel_max, channel_base // res))

        self.resolutions = [size_in * 2 ** i for i in range(int(n_up) + 1)]
        self.conv_in = StyledLayer(spatial_dim, ch(size_in), feature_dim)
        self.rgb_in = ToRGB(ch(size_in), feature_dim, out_channels)
        self.blocks = nn.ModuleList()
        self.to_rgbs = nn.ModuleList()
        prev = ch(size_in)
        for res in self.resolutions[1:]:
            self.blocks.append(nn.ModuleList([StyledLayer(prev, ch(res), feature_dim, upsample=True),
                                              StyledLayer(ch(res), ch(res), feature_dim)]))
            self.to_rgbs.append(ToRGB(ch(res), feature_dim, out_channels))
            prev = ch(res)
        # fixed noise per layer, used by noise_mode='const' so edits/inversions are deterministic
        for i, res in enumerate(self.resolutions):
            h, w = output_shape(res, aspect_ratio)
            n = 1 if i == 0 else 2
            for j in range(n):
                self.register_buffer(f'noise_{i}_{j}', torch.randn(1, 1, h, w))

    def _noise(self, i, j, batch, mode):
        """Noise for layer j of resolution i: None (fresh random), the fixed buffer, or zeros."""
        if mode == 'random':
            return None
        buf = getattr(self, f'noise_{i}_{j}')
        if mode == 'const':
            return buf.expand(batch, -1, -1, -1)
        if mode == 'none':
            return torch.zeros_like(buf).expand(batch, -1, -1, -1)
        raise ValueError(f"noise_mode must be 'random', 'const' or 'none', got {mode!r}")

    def style_maps(self, layout):
        """Style map at every resolution (list) plus the spatial input map and alphas at ``size_in``."""
        h, w = self.in_shape
        first = splat(layout, h, w, self.sharpness)
        styles = [first['style']]
        for res in self.resolutions[1:]:
            rh, rw = output_shape(res, self.aspect_ratio)
            styles.append(splat_features(splat_alphas(layout, rh, rw, self.sharpness), layout['features']))
        return first, styles

    def forward(self, layout, noise_mode='random'):
        first, styles = self.style_maps(layout)
        b = first['spatial'].shape[0]
        x = self.conv_in(first['spatial'], styles[0], self._noise(0, 0, b, noise_mode))
        rgb = self.rgb_in(x, styles[0])
        for i, ((up, conv), to_rgb) in enumerate(zip(self.blocks, self.to_rgbs), start=1):
            x = up(x, styles[i], self._noise(i, 0, b, noise_mode))
            x = conv(x, styles[i], self._noise(i, 1, b, noise_mode))
            rgb = to_rgb(x, styles[i], rgb)
        return rgb


class BlobGenerator(nn.Module):
    """Full generator: noise -> layout -> image. ``render(layout)`` decodes an (edited) layout."""

    def __init__(self, size=256, size_in=16, aspect_ratio=1.0, n_blobs=10, noise_dim=512, hidden_dim=1024,
                 n_mlp=8, feature_dim=256, spatial_dim=256, channel_max=512, channel_base=16384,
                 sharpness=25.0, layout_lr_mul=0.01):
        super().__init__()
        self.config = dict(size=size, size_in=size_in, aspect_ratio=aspect_ratio, n_blobs=n_blobs,
                           noise_dim=noise_dim, hidden_dim=hidden_dim, n_mlp=n_mlp, feature_dim=feature_dim,
                           spatial_dim=spatial_dim, channel_max=channel_max, channel_base=channel_base,
                           sharpness=sharpness, layout_lr_mul=layout_lr_mul)
        self.layout_net = LayoutNetwork(n_blobs, noise_dim, hidden_dim, n_mlp, feature_dim, spatial_dim,
                                        lr_mul=layout_lr_mul)
        self.synthesis = SynthesisNetwork(size, size_in, aspect_ratio, spatial_dim, feature_dim, channel_max,
                                          channel_base, sharpness)
        self.noise_dim = noise_dim
        self.sharpness = sharpness

    @property
    def out_shape(self):
        return self.synthesis.out_shape

    def sample_noise(self, n, generator=None, device=None):
        """Gaussian noise for ``n`` images (pass a torch.Generator for reproducible samples)."""
        device = device or next(self.parameters()).device
        return torch.randn(n, self.noise_dim, generator=generator, device='cpu').to(device)

    def layout(self, z):
        return self.layout_net(z)

    def render(self, layout, noise_mode='const'):
        """Decodes a layout dict into images in [-1, 1]-ish range (N, 3, H, W)."""
        check_layout(layout)
        return self.synthesis(layout, noise_mode=noise_mode)

    def forward(self, z, noise_mode='random', return_layout=False):
        layout = self.layout_net(z)
        img = self.synthesis(layout, noise_mode=noise_mode)
        return (img, layout) if return_layout else img

    def from_latent(self, h, mlp_idx=-1, noise_mode='const', return_layout=False):
        """Generates from an intermediate layout-MLP activation (the inversion latent)."""
        layout = self.layout_net.forward_from(h, mlp_idx)
        img = self.synthesis(layout, noise_mode=noise_mode)
        return (img, layout) if return_layout else img
