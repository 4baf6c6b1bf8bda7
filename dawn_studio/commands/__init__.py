"""Sub-commands of the ``dawn-studio`` command line, one module each.

Every module listed in ``COMMAND_MODULES`` has ``register(subparsers)``, which adds its
parser and sets ``func(args) -> int`` (the process exit code) as the default.
"""

COMMAND_MODULES: tuple[str, ...] = ("render", "models", "bench")
