"""Every error class that stands for a user mistake (a wrong option, a missing or mismatched checkpoint, an
unreadable image, a malformed data list).

They live at the bottom layer so that any module can raise them and ``util.cli.run_cli`` can turn them into
one line on stderr and exit status 2 without importing the packages that raise them. The modules that used to
define them re-export them (``from options.base_options import OptionError`` keeps working).
"""


class OptionError(ValueError):
    """A wrong option value; train.py/test.py print its message alone."""


class CheckpointError(RuntimeError):
    """A checkpoint that is missing or does not match the options; the message says what to change."""


class BadImageError(OSError):
    """An image file that cannot be decoded."""


class OmniListError(ValueError):
    """A malformed OmniGAN data list; the message names the list file and the item index."""


class ExportError(ValueError):
    """A network that cannot be exported (the blocking operator named) or fails its parity check (tools/export.py)."""


class RunLockedError(RuntimeError):
    """A second train.py on a run another process is training (util/run_lock.py); the message names the holder."""


class AppInputError(ValueError):
    """A request the demo app cannot serve (wrong image, bad value): shown to the user as one message."""


# What run_cli reports as one line: the classes above plus the built-in errors our code raises for bad input
# (a missing file, an invalid value, an optional package that is not installed).
USER_ERRORS = (OptionError, CheckpointError, BadImageError, OmniListError, RunLockedError, FileNotFoundError,
               ValueError, ImportError)
