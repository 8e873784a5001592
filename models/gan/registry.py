"""Name -> builder tables of the unconditional GAN components (--netG, --netD, --noise, the turn hooks).

A module listed in $ZOO_PLUGINS adds its own component with the decorators, before options are parsed:

    from models.gan import register_generator

    @register_generator('mine')
    def build_my_generator(opt):      # opt: the parsed options (opt.nz, opt.crop_size, opt.output_nc, ...)
        return MyGenerator(opt.nz, opt.crop_size, opt.output_nc)

and selects it with ``--model gan --netG mine``.
"""


class ComponentTable:
    """Builders of one kind of component, selected by an option."""

    def __init__(self, kind, option):
        self.kind = kind
        self.option = option
        self._builders = {}

    def register(self, name, builder=None):
        """Add ``builder`` under ``name``; without ``builder``, a decorator."""
        if builder is not None:
            self._builders[name] = builder
            return builder

        def wrap(fn):
            self._builders[name] = fn
            return fn
        return wrap

    def names(self):
        return sorted(self._builders)

    def __contains__(self, name):
        return name in self._builders

    def get(self, name):
        if name not in self._builders:
            raise ValueError(f"unknown {self.option} '{name}' for --model gan; choose one of {', '.join(self.names())}")
        return self._builders[name]


GENERATORS = ComponentTable('generator', '--netG')
DISCRIMINATORS = ComponentTable('discriminator', '--netD')
NOISES = ComponentTable('noise', '--noise')
HOOKS = ComponentTable('hook', '--generator_hook/--discriminator_hook')


def register_generator(name, builder=None):
    """Make ``--netG name`` build ``builder(opt)`` (an nn.Module mapping (B, nz) noise to (B, C, S, S) images)."""
    return GENERATORS.register(name, builder)


def register_discriminator(name, builder=None):
    """Make ``--netD name`` build ``builder(opt)`` (an nn.Module mapping (B, C, S, S) images to (B,) logits)."""
    return DISCRIMINATORS.register(name, builder)


def register_noise(name, sampler=None):
    """Make ``--noise name`` draw latents with ``sampler(n, nz, generator, device, truncation)``."""
    return NOISES.register(name, sampler)


def register_hook(name, builder=None):
    """Make ``--generator_hook name`` / ``--discriminator_hook name`` apply ``builder(opt)``, a function of the
    network, after each generator / discriminator turn."""
    return HOOKS.register(name, builder)
