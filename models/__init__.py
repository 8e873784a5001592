"""Model zoo: every ``models/<name>_model.py`` defines ``<Name>Model(BaseModel)``, selected by --model <name>."""
from util.registry import Registry


def _base_model():
    from models.base_model import BaseModel
    return BaseModel


MODELS = Registry('models', 'model', _base_model, 'model')


def register_model(name, cls):
    """Register a model class defined outside this repository (see ZOO_PLUGINS in the README)."""
    return MODELS.register(name, cls)


def model_names():
    return MODELS.names()


def find_model_using_name(model_name):
    return MODELS.get(model_name)


def entry_for_model(table, model, model_name):
    """``table[model_name]``, or the entry of the nearest parent class of ``model`` whose --model name is in
    ``table`` (a plugin subclassing pix2pix gets pix2pix's app page and export); None when there is none."""
    names = {}
    for name in model_names():
        try:
            names.setdefault(find_model_using_name(name), name)
        except (ValueError, ImportError):
            continue
    for cls in type(model).__mro__:
        name = model_name if cls is type(model) else names.get(cls)
        if name in table:
            return table[name]
    return None


def get_option_setter(model_name):
    return find_model_using_name(model_name).modify_commandline_options


def create_model(opt):
    """Instantiate the model named by opt.model."""
    model = find_model_using_name(opt.model)(opt)
    if getattr(opt, 'verbose', False) or getattr(opt, 'rank', 0) == 0:
        print(f'model [{type(model).__name__}] was created')
    return model
