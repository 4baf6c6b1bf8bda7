"""Runs many ``dawn-studio`` command lines in one process (the models and libraries are imported once).

``python batch_runner.py CASES.json RESULTS.json``: CASES is a list of ``{"id", "argv", "cwd"}``; each
command line goes through ``dawn_studio.cli.main`` exactly as ``dawn-studio ARGV`` would, with its own
working folder and its own captured stdout and stderr; RESULTS maps each id to code, out and err.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys


def run_one(argv: list[str], cwd: str) -> dict:
    from dawn_studio.cli import main

    out, err = io.StringIO(), io.StringIO()
    os.chdir(cwd)
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse's own usage errors
            code = exc.code if isinstance(exc.code, int) else 1
        except BaseException as exc:  # noqa: BLE001  (what escapes main is itself a finding)
            import traceback

            traceback.print_exc()
            code = f"escaped: {type(exc).__name__}"
    return {"code": code, "out": out.getvalue(), "err": err.getvalue()}


def main() -> None:
    cases = json.loads(open(sys.argv[1], encoding="utf-8").read())
    results = {case["id"]: run_one(case["argv"], case["cwd"]) for case in cases}
    with open(sys.argv[2], "w", encoding="utf-8") as handle:
        json.dump(results, handle)


if __name__ == "__main__":
    main()
