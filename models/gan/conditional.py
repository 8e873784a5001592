"""The class-conditional variant (--condition class): the generator receives the one-hot class next to the
noise (Mirza & Osindero 2014), the discriminator adds a projection of the class embedding on its features
(Miyato & Koyama 2018): D(x, y) = head(f(x)) + <embed(y), pool(f(x))>.

Any registered generator works (it is built for --nz + --n_classes inputs); discriminators need ``features(x)``,
``head(features)`` and ``feature_dim``, as the fc, dcgan and resnet ones have.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F


class ConditionalGenerator(nn.Module):
    """G(z, y) = G'(cat(z, onehot(y)))."""

    def __init__(self, generator, n_classes):
        super().__init__()
        self.generator = generator
        self.n_classes = n_classes

    def forward(self, z, labels):
        return self.generator(torch.cat([z, F.one_hot(labels, self.n_classes).to(z.dtype)], dim=1))


class ProjectionDiscriminator(nn.Module):
    """D(x, y) = D'.head(f) + <embed(y), sum of f over space>, f = D'.features(x)."""

    def __init__(self, discriminator, n_classes):
        super().__init__()
        for attr in ('features', 'head', 'feature_dim'):
            if not hasattr(discriminator, attr):
                raise ValueError(f'--condition class needs a discriminator with features(x), head(f) and feature_dim; '
                                 f'{type(discriminator).__name__} has no {attr}')
        self.discriminator = discriminator
        self.embed = nn.Embedding(n_classes, discriminator.feature_dim)
        nn.init.xavier_uniform_(self.embed.weight)

    def forward(self, x, labels):
        features = self.discriminator.features(x)
        pooled = features.sum(dim=(2, 3)) if features.dim() == 4 else features
        return self.discriminator.head(features) + (self.embed(labels).to(pooled.dtype) * pooled).sum(dim=1)
