"""``python -m dawn_studio`` is the same as the ``dawn-studio`` command."""

import sys

try:
    from .cli import run
except KeyboardInterrupt:  # Ctrl-C before the command line is even read: one line, no traceback
    print("Cancelled.", file=sys.stderr)
    sys.exit(130)

run()
