"""BlobGAN (Epstein et al., ECCV 2022) in plain PyTorch: layout network, blob splatting, generator with
spatially varying modulation, StyleGAN2 discriminator, losses, EMA, editing and drawing. Inversion and
counterfactual explanations (OCTET, Zemni et al., CVPR 2023) are workflow code in tools/blobgan/octet/."""
from .layout import LayoutNetwork, LAYOUT_KEYS, check_layout, clone_layout, slice_layout, cat_layouts
from .splat import splat, splat_alphas, blob_opacities, composite_alphas, splat_features, shape_covariances
from .generator import BlobGenerator, SynthesisNetwork, output_shape
from .discriminator import BlobDiscriminator, BlobEncoder
from .losses import d_logistic_loss, g_nonsaturating_loss, r1_penalty
from .ema import make_ema, update_ema, ema_decay_from_half_life, PUBLISHED_EMA_DECAY
from .published import load_published_generator, PUBLISHED_URLS
from .editing import move_blob, resize_blob, remove_blob, reshape_blob, restyle_blob, regenerate
from .draw import draw_layout, layout_map, blob_colors

__all__ = [
    'LayoutNetwork', 'LAYOUT_KEYS', 'check_layout', 'clone_layout', 'slice_layout', 'cat_layouts',
    'splat', 'splat_alphas', 'blob_opacities', 'composite_alphas', 'splat_features', 'shape_covariances',
    'BlobGenerator', 'SynthesisNetwork', 'output_shape', 'BlobDiscriminator', 'BlobEncoder',
    'd_logistic_loss', 'g_nonsaturating_loss', 'r1_penalty', 'make_ema', 'update_ema',
    'ema_decay_from_half_life', 'PUBLISHED_EMA_DECAY', 'load_published_generator', 'PUBLISHED_URLS', 'move_blob', 'resize_blob', 'remove_blob', 'reshape_blob', 'restyle_blob',
    'regenerate', 'draw_layout', 'layout_map', 'blob_colors',
]
