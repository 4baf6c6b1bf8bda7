"""Entry point of the PyInstaller bundle: the same as the ``dawn-studio`` command."""

import multiprocessing

from dawn_studio.cli import run

if __name__ == "__main__":
    multiprocessing.freeze_support()  # a frozen app must not re-run itself if a library spawns workers
    run()
