"""Optimizers chosen by --optimizer: torch.optim and, when installed, torch-optimizer."""
import inspect

import torch


def _torch_optimizers():
    names = {}
    for name in dir(torch.optim):
        obj = getattr(torch.optim, name)
        if isinstance(obj, type) and issubclass(obj, torch.optim.Optimizer) and obj is not torch.optim.Optimizer:
            names[name.lower()] = obj
    return names


def _torch_optimizer_package():
    try:
        import torch_optimizer
    except ImportError:
        return {}
    return {name: cls for name, cls in torch_optimizer._NAME_OPTIM_MAP.items() if name != 'lookahead'}


def optimizer_names():
    """Every name accepted by --optimizer: torch.optim first, then the extra ones of torch-optimizer."""
    extra = _torch_optimizer_package()
    names = dict(extra)
    names.update(_torch_optimizers())
    return sorted(names) + sorted(f'torch_optimizer.{name}' for name in extra)


def get_optimizer_class(name):
    """Resolve an --optimizer name; torch.optim wins where both packages define one (e.g. radam).

    ``torch_optimizer.<name>`` (e.g. ``torch_optimizer.radam``) always picks the torch-optimizer class.
    """
    key = name.lower()
    if key.startswith('torch_optimizer.'):
        extra = _torch_optimizer_package()
        if not extra:
            raise ImportError(f"--optimizer {name} needs the torch-optimizer package: pip install torch-optimizer")
        if key.split('.', 1)[1] not in extra:
            raise ValueError(f"unknown --optimizer '{name}'; torch-optimizer has {', '.join(sorted(extra))}")
        return extra[key.split('.', 1)[1]]
    torch_names = _torch_optimizers()
    if key in torch_names:
        return torch_names[key]
    extra = _torch_optimizer_package()
    if key in extra:
        return extra[key]
    raise ValueError(f"unknown --optimizer '{name}'; choose one of {', '.join(optimizer_names())}")


def make_optimizer(params, name='adam', lr=2e-4, beta1=0.5, beta2=0.999, weight_decay=0.0, lookahead=False,
                   fused=False):
    """Build the optimizer named by --optimizer; betas are passed to every optimizer that takes them.

    ``fused`` (--fused_optimizer) selects the single-kernel implementation where the optimizer has one.
    """
    cls = get_optimizer_class(name)
    accepted = inspect.signature(cls.__init__).parameters
    kwargs = {'lr': lr}
    if 'betas' in accepted:
        kwargs['betas'] = (beta1, beta2)
    if 'weight_decay' in accepted:
        kwargs['weight_decay'] = weight_decay
    if fused and 'fused' in accepted:
        kwargs['fused'] = True
    optimizer = cls(params, **kwargs)
    if lookahead:
        import torch_optimizer
        optimizer = torch_optimizer.Lookahead(optimizer)
    return optimizer
