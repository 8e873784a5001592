"""Entry-point wrapper: user mistakes end with one clear line on stderr, not a traceback."""
import os
import sys

from util.errors import USER_ERRORS


def run_cli(main, args=None, errors=()):
    """Call ``main(args)`` and return its result; errors caused by the input print 'error: ...' and exit with
    status 2. ``errors``: further exception classes that mean bad input for this script.

    The one error wrapper of every entry point: ``sys.exit(run_cli(main))`` (main returning an int status or
    None). Set ZOO_TRACEBACK=1 to see the full traceback instead.
    """
    try:
        return main(args)
    except USER_ERRORS + tuple(errors) as exc:
        if os.environ.get('ZOO_TRACEBACK'):
            raise
        message = str(exc).strip() or type(exc).__name__
        print(f'error: {message}', file=sys.stderr)
        sys.exit(2)
