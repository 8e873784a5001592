"""InceptionV3 weights for FID/KID/IS: torch-fidelity's official file (from its download location, a local
path or a clear error), the tag that keeps statistics of different weights apart, and random weights for
tests and offline smoke runs."""
import hashlib
import math
import os
import warnings

import torch

from util.util import atomic_torch_save

_OFFICIAL_SHA256_PREFIX = '6726825d'


def official_weights_url():
    """Where torch-fidelity downloads its InceptionV3 weights from."""
    from torch_fidelity.feature_extractor_inceptionv3 import URL_INCEPTION_V3
    return URL_INCEPTION_V3


def default_weights_location():
    """Where torch-fidelity's download is kept (torch.hub's checkpoint folder, same as torch-fidelity)."""
    return os.path.join(torch.hub.get_dir(), 'checkpoints', os.path.basename(official_weights_url()))


def resolve_inception_weights(weights_path=None, download=True):
    """Return a local path to InceptionV3 weights for FID/KID/IS.

    ``weights_path`` given: it must exist. Otherwise torch-fidelity's own file is used from the
    torch.hub cache, downloaded there first when online. Offline with no file: FileNotFoundError
    saying how to get it.
    """
    if weights_path:
        weights_path = os.path.expanduser(str(weights_path))
        if not os.path.isfile(weights_path):
            raise FileNotFoundError(f"Inception weights file '{weights_path}' not found: download "
                                    f"{official_weights_url()} and pass its path with --fidelity_weights")
        return weights_path
    dst = default_weights_location()
    if os.path.isfile(dst):
        return dst
    reason = 'downloading is disabled'
    if download:
        try:
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            torch.hub.download_url_to_file(official_weights_url(), dst, hash_prefix=_OFFICIAL_SHA256_PREFIX,
                                           progress=False)
            return dst
        except Exception as err:  # offline, proxy, HTTP or hash errors all end the same way for the user
            reason = f"download failed: {type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}"
    raise FileNotFoundError(f"Inception weights for FID/KID/IS are not available ({reason}): on a machine with "
                            f"internet download {official_weights_url()} and pass it with --fidelity_weights PATH "
                            f"(or copy it to {dst})")


_sha_cache = {}


def _sha256(path):
    st = os.stat(path)
    key = (os.path.realpath(path), st.st_size, st.st_mtime_ns)
    if key not in _sha_cache:
        h = hashlib.sha256()
        with open(path, 'rb') as f:
            for chunk in iter(lambda: f.read(1 << 20), b''):
                h.update(chunk)
        _sha_cache[key] = h.hexdigest()
    return _sha_cache[key]


def weights_tag(weights_file):
    """``'official'`` for torch-fidelity's file, else ``'w<sha256 prefix>'``.

    Part of every cache key, so statistics computed with different weights never mix.
    """
    sha = _sha256(weights_file)
    return 'official' if sha.startswith(_OFFICIAL_SHA256_PREFIX) else 'w' + sha[:10]


def warn_if_unofficial(weights_file):
    if weights_tag(weights_file) != 'official':
        warnings.warn(f"Inception weights '{weights_file}' are not torch-fidelity's official file: FID/KID/IS "
                      "computed with them are not comparable with published numbers", stacklevel=3)


def _inception_skeleton():
    """An InceptionV3 with the exact module names of torch-fidelity's extractor, without loading weights.

    torch-fidelity's constructor always loads a file, so the layer list is rebuilt from its own blocks;
    tests check the result loads strictly into ``FeatureExtractorInceptionV3``.
    """
    from torch import nn
    from torch_fidelity.feature_extractor_inceptionv3 import (BasicConv2d, InceptionA, InceptionB, InceptionC,
                                                              InceptionD, InceptionE_1, InceptionE_2)
    net = nn.Module()
    net.Conv2d_1a_3x3 = BasicConv2d(3, 32, kernel_size=3, stride=2)
    net.Conv2d_2a_3x3 = BasicConv2d(32, 32, kernel_size=3)
    net.Conv2d_2b_3x3 = BasicConv2d(32, 64, kernel_size=3, padding=1)
    net.Conv2d_3b_1x1 = BasicConv2d(64, 80, kernel_size=1)
    net.Conv2d_4a_3x3 = BasicConv2d(80, 192, kernel_size=3)
    net.Mixed_5b = InceptionA(192, pool_features=32)
    net.Mixed_5c = InceptionA(256, pool_features=64)
    net.Mixed_5d = InceptionA(288, pool_features=64)
    net.Mixed_6a = InceptionB(288)
    net.Mixed_6b = InceptionC(768, channels_7x7=128)
    net.Mixed_6c = InceptionC(768, channels_7x7=160)
    net.Mixed_6d = InceptionC(768, channels_7x7=160)
    net.Mixed_6e = InceptionC(768, channels_7x7=192)
    net.Mixed_7a = InceptionD(768)
    net.Mixed_7b = InceptionE_1(1280)
    net.Mixed_7c = InceptionE_2(2048)
    net.fc = nn.Linear(2048, 1008)
    return net


def make_random_inception_weights(path, seed=0):
    """Write a randomly initialised state_dict for torch-fidelity's InceptionV3 extractor to ``path``.

    For tests and offline smoke runs only: FID/KID/IS computed with it measure distances in a random
    feature space and are NOT comparable with published numbers. Convolutions use He initialisation
    and batch norms are identities, so the 2048-d features keep a usable scale through the network.
    """
    gen = torch.Generator().manual_seed(int(seed))
    net = _inception_skeleton()
    with torch.no_grad():
        for module in net.modules():
            if isinstance(module, torch.nn.Conv2d):
                torch.nn.init.kaiming_normal_(module.weight, nonlinearity='relu', generator=gen)
            elif isinstance(module, torch.nn.Linear):
                # wide enough logits that the Inception Score is not stuck at exactly 1
                module.weight.normal_(0.0, 5.0 / math.sqrt(module.in_features), generator=gen)
                module.bias.zero_()
    state = {k: v.clone() for k, v in net.state_dict().items()}
    atomic_torch_save(state, str(path))
    return str(path)
