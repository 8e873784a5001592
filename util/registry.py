"""Name -> class registries filled by scanning a package for ``<name>_<suffix>.py`` files, plus plugins.

Models (``models/<name>_model.py`` with class ``<Name>Model``) and dataset modes
(``data/<name>_dataset.py`` with class ``<Name>Dataset``) are found this way. External code registers its
own classes with :meth:`Registry.register`; modules named in the ``ZOO_PLUGINS`` environment variable
(comma separated) are imported before options are parsed so that they can do so.
"""
import importlib
import os
import pkgutil

PLUGINS_ENV = 'ZOO_PLUGINS'
_loaded_plugins = set()


def _where(exc):
    """' (at file:line)' of the innermost frame of ``exc`` outside importlib, or ''."""
    import traceback
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if '<frozen' not in f.filename
              and 'importlib' not in f.filename and not f.filename.endswith('registry.py')]
    return f' (at {frames[-1].filename}:{frames[-1].lineno})' if frames else ''


def load_plugins():
    """Import every module listed in $ZOO_PLUGINS once; a module that cannot be imported is a clear error."""
    for module_name in filter(None, (m.strip() for m in os.environ.get(PLUGINS_ENV, '').split(','))):
        if module_name in _loaded_plugins:
            continue
        try:
            importlib.import_module(module_name)
        except ImportError as exc:
            if exc.name and module_name.split('.')[0] != exc.name.split('.')[0] and \
                    not module_name.startswith(exc.name + '.'):  # found, but an import inside it failed
                raise ImportError(f"{PLUGINS_ENV} module '{module_name}' was found, but its own import of "
                                  f"'{exc.name}' failed ({exc}){_where(exc)}") from exc
            raise ImportError(f"{PLUGINS_ENV} names '{module_name}', which cannot be imported ({exc}); "
                              f"check that it is on PYTHONPATH") from exc
        except Exception as exc:  # noqa: BLE001 - any error while importing a plugin is the plugin's
            raise ImportError(f"{PLUGINS_ENV} module '{module_name}' failed while being imported: "
                              f"{type(exc).__name__}: {exc}{_where(exc)}") from exc
        _loaded_plugins.add(module_name)


class Registry:
    """Classes of one kind (models or datasets) keyed by their command-line name."""

    def __init__(self, package, suffix, base_class_getter, kind):
        self.package = package
        self.suffix = suffix
        self.base_class_getter = base_class_getter
        self.kind = kind
        self._external = {}

    def register(self, name, cls):
        """Make ``cls`` selectable under ``name`` (for plugins living outside this repository)."""
        if not issubclass(cls, self.base_class_getter()):
            raise TypeError(f"{cls.__name__} must subclass {self.base_class_getter().__name__} to be a {self.kind}")
        self._external[name] = cls
        return cls

    def names(self):
        """Every selectable name: files in the package plus registered plugins."""
        load_plugins()
        package = importlib.import_module(self.package)
        found = {m.name[:-len(self.suffix) - 1] for m in pkgutil.iter_modules(package.__path__)
                 if m.name.endswith('_' + self.suffix)}
        return sorted(found | set(self._external))

    def get(self, name):
        """Return the class for ``name`` or raise a ValueError listing the valid names."""
        load_plugins()
        if name in self._external:
            return self._external[name]
        if name not in self.names():
            raise ValueError(f"unknown {self.kind} '{name}'; choose one of {', '.join(self.names())}")
        module = importlib.import_module(f'{self.package}.{name}_{self.suffix}')
        target = (name.replace('_', '') + self.suffix).lower()
        base = self.base_class_getter()
        for attr, obj in vars(module).items():
            if attr.lower() == target and isinstance(obj, type) and issubclass(obj, base):
                return obj
        raise ValueError(f"{module.__file__} should define a class named like '{name.title().replace('_', '')}"
                         f"{self.suffix.title()}' that subclasses {base.__name__}")
