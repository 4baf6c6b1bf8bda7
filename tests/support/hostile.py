"""Helpers of the hostile-input suite (tests/hostile): hostile command lines through the real CLI.

Every input is generated here (nothing binary is committed). Each case checks the exit code, the
message, that no traceback reaches the console, that no input changed (SHA-256 before/after) and
that nothing stray was left beside the files involved.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import wave
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image


@dataclass
class Outcome:
    code: int
    out: str
    err: str

    @property
    def text(self) -> str:
        return self.out + self.err


def run_cli(*args, cwd: Path, timeout: float = 120, env: dict | None = None) -> Outcome:
    """``python -m dawn_studio ARGS`` with the suite's isolated settings; tracebacks never reach the console."""
    result = subprocess.run([sys.executable, "-m", "dawn_studio", *map(str, args)], capture_output=True,
                            text=True, timeout=timeout, cwd=cwd, env={**os.environ, **(env or {})},
                            stdin=subprocess.DEVNULL)
    outcome = Outcome(result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in outcome.text, outcome.text
    assert "weights_only=False" not in outcome.text, outcome.text
    return outcome


def sha256(path: Path) -> str:
    """The file's SHA-256 (for a huge sparse trap file: its size and modification time)."""
    info = Path(path).stat()
    if info.st_size > 64 << 20:
        return f"{info.st_size}:{info.st_mtime_ns}"
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def listing(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in Path(folder).rglob("*")}


def write_wav(path: Path, seconds: float, rate: int = 16000, samples: np.ndarray | None = None) -> Path:
    """A 16-bit mono WAV: a voiced-like tone, or ``samples`` as they are."""
    if samples is None:
        t = np.arange(int(seconds * rate)) / rate
        samples = 0.3 * np.sin(2 * np.pi * 180 * t) * (0.6 + 0.4 * np.sin(2 * np.pi * 3 * t))
    pcm = (np.clip(samples, -1, 1) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(pcm.tobytes())
    return path


def write_float_wav(path: Path, samples: np.ndarray, rate: int = 16000) -> Path:
    """A 32-bit float WAV (format 3), which may hold NaN and infinity."""
    import soundfile

    soundfile.write(path, samples.astype(np.float32), rate, subtype="FLOAT")
    return path


@dataclass
class Inputs:
    """A case's folder with a generated photo and speech; every file in it is hashed once the case
    is set up, so a run that changes or leaves anything is caught."""

    folder: Path
    photo: Path
    speech: Path
    store: Path | None = None  # a private copy of the tiny model set, when the case needs one
    face: Path | None = None  # a real photo with a face, when the case gets that far

    def snapshot(self) -> None:
        self.hashes = {p: sha256(p) for p in self.folder.rglob("*") if p.is_file() and not p.is_symlink()}
        self.before = listing(self.folder)

    def unchanged(self, *, same_listing: bool = True) -> None:
        for path, digest in self.hashes.items():
            if path.exists():
                assert sha256(path) == digest, f"{path.name} was changed"
        if same_listing:
            assert listing(self.folder) == self.before, "stray or missing files"


def make_inputs(folder: Path) -> Inputs:
    folder.mkdir(parents=True)
    photo = folder / "me.png"
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (96, 80, 3), dtype=np.uint8)).save(photo)
    return Inputs(folder, photo, write_wav(folder / "talk.wav", 1.0))


@dataclass
class Case:
    """One hostile command line: ``build(inputs)`` prepares the files and returns the arguments."""

    build: Callable[[Inputs], list]
    code: int
    words: tuple[str, ...] = ()
    needs_store: bool = False
    check: Callable[[Inputs, Outcome], None] | None = None
    same_listing: bool = True
    verbose: bool = False  # run with ``dawn-studio -v``: the traceback is shown on the console


def run_batch(cases: dict[str, Case], root: Path, tiny_store: Path | None, face: Path | None,
              timeout: float = 600) -> dict[str, tuple[Outcome, Inputs]]:
    """Set every case up, run them all in one subprocess (see batch_runner.py), return their outcomes."""
    import json
    import shutil

    specs, prepared = [], {}
    for case_id, case in cases.items():
        inputs = make_inputs(root / case_id)
        if case.needs_store:
            inputs.store = root / f"{case_id}-store"
            shutil.copytree(tiny_store, inputs.store, symlinks=True)
        inputs.face = face
        argv = [*(["-v"] if case.verbose else []), *(str(a) for a in case.build(inputs))]
        inputs.snapshot()
        prepared[case_id] = inputs
        specs.append({"id": case_id, "argv": argv, "cwd": str(inputs.folder)})
    (root / "cases.json").write_text(json.dumps(specs), encoding="utf-8")
    runner = Path(__file__).parents[1] / "hostile" / "batch_runner.py"
    subprocess.run([sys.executable, str(runner), str(root / "cases.json"), str(root / "results.json")],
                   check=True, timeout=timeout, cwd=root, stdin=subprocess.DEVNULL)
    results = json.loads((root / "results.json").read_text(encoding="utf-8"))
    outcomes = {cid: (Outcome(**results[cid]), prepared[cid]) for cid in cases}
    REPORT.update(outcomes)
    return outcomes


def judge(case: Case, outcome: Outcome, inputs: Inputs) -> None:
    """Exit code, the message's words, no traceback (unless ``-v``), no changed input, no stray file."""
    assert ("Traceback" in outcome.err) == case.verbose, outcome.text
    assert "weights_only=False" not in outcome.text, outcome.text
    assert outcome.code == case.code, outcome.text
    for word in case.words:
        assert word.lower() in outcome.text.lower(), (word, outcome.text)
    if case.code != 0:
        assert outcome.text.strip(), "failed without a word"
    inputs.unchanged(same_listing=case.same_listing)
    if case.check is not None:
        case.check(inputs, outcome)




#: Every batch outcome of this session, for the optional summary (see tests/hostile/conftest.py).
REPORT: dict = {}
