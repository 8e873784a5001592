"""The GAN objectives --gan_mode names, in one table (:data:`OBJECTIVES`).

Everything else about them is derived from it: the choices and help of --gan_mode (options/train_options.py for
the image-to-image models, models/gan_model.py for --model gan), the criterion :class:`losses.GANLoss` computes,
the --lambda_gp default, --model gan's optimizer defaults, and the one-line error for a model that does not take
an objective. Adding an objective is one :func:`register_objective` call (a new criterion also needs its formula
in ``GANLoss._single``).
"""
from collections import Counter
from dataclasses import dataclass, field

from util.errors import OptionError

# The formulas GANLoss implements (models/networks/losses.py: GANLoss._single).
CRITERIA = ('vanilla', 'lsgan', 'wgangp', 'hinge')

# Families of models, by which objectives their --gan_mode takes (a model's ``objective_family`` attribute).
IMAGE_TO_IMAGE = 'image-to-image'  # every model but gan: pix2pix, cycle_gan, adversarial_losses, liss, omnigan, ...
GAN = 'gan'  # --model gan: canonical names only (the aliases are the image-to-image models' spellings)
FAMILY_MODELS = {IMAGE_TO_IMAGE: 'the image-to-image models (pix2pix, cycle_gan, adversarial_losses, ...)',
                 GAN: '--model gan'}


@dataclass(frozen=True)
class OptimizerDefaults:
    """What --optimizer, --lr, --beta1, --beta2, --d_iters and --clip_weights become under --model gan when they
    are not given (the DCGAN recipe unless an objective's paper says otherwise)."""
    optimizer: str = 'adam'
    lr: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999
    d_iters: int = 1
    clip_weights: float = 0.0


@dataclass(frozen=True)
class Objective:
    """One --gan_mode value: its ``criterion`` (one of :data:`CRITERIA`), other spellings (``aliases``), the model
    families that take it, the --lambda_gp default it implies and --model gan's optimizer defaults."""
    name: str
    criterion: str
    help: str
    aliases: tuple = ()
    families: tuple = (IMAGE_TO_IMAGE, GAN)
    lambda_gp: float = 10.0
    optimizer: OptimizerDefaults = field(default_factory=OptimizerDefaults)

    def __post_init__(self):
        if self.criterion not in CRITERIA:
            raise ValueError(f'objective {self.name}: criterion {self.criterion!r} is not one of {", ".join(CRITERIA)}')


OBJECTIVES = {}  # name -> Objective, in the order --help lists them


def register_objective(objective):
    """Add ``objective`` to the table (its name and aliases must be new); returns it."""
    taken = {spelling for known in OBJECTIVES.values() for spelling in (known.name, *known.aliases)}
    clash = taken & {objective.name, *objective.aliases}
    if clash:
        raise ValueError(f'--gan_mode {", ".join(sorted(clash))} is already an objective')
    OBJECTIVES[objective.name] = objective
    return objective


# WGAN paper (Arjovsky et al.): RMSprop 5e-5, n_critic 5, c = 0.01; WGAN-GP paper (Gulrajani et al.): Adam 1e-4,
# betas (0, 0.9), n_critic 5, lambda 10; the aliases are SPADE's spellings, w the DLIM study's plain critic.
for _objective in (
        Objective('vanilla', 'vanilla', 'non-saturating cross-entropy', aliases=('original',)),
        Objective('lsgan', 'lsgan', 'least squares', aliases=('ls',)),
        Objective('wgangp', 'wgangp', 'Wasserstein with gradient penalty --lambda_gp',
                  optimizer=OptimizerDefaults(lr=1e-4, beta1=0.0, beta2=0.9, d_iters=5)),
        Objective('hinge', 'hinge', 'hinge loss'),
        Objective('w', 'wgangp', 'the plain Wasserstein critic of the DLIM study (--lambda_gp 0)',
                  families=(IMAGE_TO_IMAGE,), lambda_gp=0.0),
        Objective('wgan', 'wgangp', 'Wasserstein with weight clipping --clip_weights', families=(GAN,),
                  optimizer=OptimizerDefaults(optimizer='rmsprop', lr=5e-5, d_iters=5, clip_weights=0.01))):
    register_objective(_objective)


def objectives_of(family=None):
    """The objectives a model family takes (None: all of them), in table order."""
    return [o for o in OBJECTIVES.values() if family is None or family in o.families]


def spellings(family=None):
    """The --gan_mode values a family takes (None: every value of the table), names before aliases."""
    chosen = objectives_of(family)
    aliases = [] if family == GAN else [a for o in chosen for a in o.aliases]
    return [o.name for o in chosen] + aliases


def lookup(gan_mode):
    """The Objective ``gan_mode`` names (a name or an alias); an OptionError listing the values otherwise."""
    for objective in OBJECTIVES.values():
        if gan_mode == objective.name or gan_mode in objective.aliases:
            return objective
    raise OptionError(f"unknown --gan_mode '{gan_mode}'; choose one of {', '.join(spellings())}")


def accepted(gan_mode, family, model):
    """The Objective of ``gan_mode`` if ``family`` takes it, else an OptionError naming the models that do."""
    objective = lookup(gan_mode)
    if gan_mode not in spellings(family):
        takers = ' and '.join(text for f, text in FAMILY_MODELS.items() if gan_mode in spellings(f))
        raise OptionError(f"--gan_mode {gan_mode} is only taken by {takers}; --model {model} takes "
                          f"{', '.join(spellings(family))}")
    return objective


def gan_mode_help(family):
    """The help of --gan_mode for a family: each objective with its aliases and what it is."""
    parts = []
    for o in objectives_of(family):
        alias = f' ({", ".join(o.aliases)})' if o.aliases and family != GAN else ''
        only = f' [{FAMILY_MODELS[GAN]} only]' if family is None and o.families == (GAN,) else ''
        parts.append(f'{o.name}{alias}: {o.help}{only}')
    return 'GAN objective: ' + '; '.join(parts)


def defaults_help(key, family=GAN):
    """'<value> for <objectives>, ..., <value> otherwise': the default of option ``key`` (lambda_gp or a field of
    OptimizerDefaults) over a family's objectives, for the option's help."""
    def value_of(objective):
        return getattr(objective, key) if key == 'lambda_gp' else getattr(objective.optimizer, key)

    def text(value):
        return f'{value:g}' if isinstance(value, float) else str(value)
    names_by_value = {}
    for o in objectives_of(family):
        names_by_value.setdefault(value_of(o), []).append(o.name)
    usual = Counter({value: len(names) for value, names in names_by_value.items()}).most_common(1)[0][0]
    return ', '.join([f'{text(value)} for {"/".join(names)}' for value, names in names_by_value.items()
                      if value != usual] + [f'{text(usual)} otherwise'])
