"""Entry-point wrapper: user mistakes end with one clear line on stderr, not a traceback."""
import os
import sys

from util.errors import USER_ERRORS


def run_cli(main, args=None):
    """Call ``main(args)``; errors caused by the input print 'error: ...' and exit with status 2.

    Set ZOO_TRACEBACK=1 to see the full traceback instead.
    """
    try:
        return main(args)
    except USER_ERRORS as exc:
        if os.environ.get('ZOO_TRACEBACK'):
            raise
        message = str(exc).strip() or type(exc).__name__
        print(f'error: {message}', file=sys.stderr)
        sys.exit(2)
