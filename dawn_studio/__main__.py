"""``python -m dawn_studio`` is the same as the ``dawn-studio`` command."""

import sys

from .cli import main

sys.exit(main())
