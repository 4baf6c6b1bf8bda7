"""``render`` with hostile settings, paths, projects and outputs: a clear message, the documented exit
code, nothing changed, nothing left behind. Almost all are refused before any model is loaded; they
run as one batch of command lines (see batch_runner.py) to keep the suite fast."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from support.hostile import Case, Inputs, judge, run_batch, run_cli, write_float_wav, write_wav

NO_STORE = "no-such-store"


def render(i: Inputs, *args, out: str | os.PathLike = "out.mp4", models: os.PathLike | str = NO_STORE) -> list:
    """A render command line of the case's photo and speech, unless ``args`` give other ones."""
    given = {str(a) for a in args}
    head = [] if "-p" in given or "--project" in given else ["-p", i.photo]
    head += [] if "-a" in given or "--project" in given else ["-a", i.speech]
    tail = [] if out is None else ["-o", i.folder / out]
    return ["render", *head, *args, *tail, "--models", models]


def _alias(kind: str):
    def build(i: Inputs) -> list:
        alias = i.folder / "alias.mp4"
        if kind == "symlink":
            alias.symlink_to(i.photo)
        elif kind == "hardlink":
            os.link(i.photo, alias)
        else:
            (i.folder / "sub").mkdir()
            alias = i.folder / "sub" / ".." / i.photo.name
        return render(i, "-o", alias, "--format", "mp4", "--overwrite", out=None)
    return build


def _project_over_video(i: Inputs) -> list:
    (i.folder / "keep.mp4").write_bytes(b"my holiday video")
    project = i.folder / "evil.dawn"
    project.write_text(json.dumps({"format": "dawn-studio-project", "version": 1, "job": {
        "portrait": str(i.photo), "audio": str(i.speech),
        "output": {"path": str(i.folder / "keep.mp4"), "format": "mp4", "overwrite": True}}}))
    (i.folder / "empty-store").mkdir()
    return ["render", "--project", project, "--models", i.folder / "empty-store"]


def _partials(i: Inputs) -> list:
    (i.folder / ".out.mp4.1a2b3c4d.partial.mp4").write_bytes(b"half a video of a killed run")
    (i.folder / ".out.mp4.1-0badf00d.partial.mp4").write_bytes(b"pid 1 is alive: still being written")
    (i.folder / ".other.mp4.1a2b3c4d.partial.mp4").write_bytes(b"another output's")
    (i.folder / "empty-store").mkdir()
    return render(i, models=i.folder / "empty-store")


def _check_partials(i: Inputs, _outcome) -> None:
    assert not (i.folder / ".out.mp4.1a2b3c4d.partial.mp4").exists(), "a killed run's partial file stays"
    assert (i.folder / ".out.mp4.1-0badf00d.partial.mp4").exists(), "a running export's file was removed"
    assert (i.folder / ".other.mp4.1a2b3c4d.partial.mp4").exists()


def _project(job_text):
    def build(i: Inputs) -> list:
        project = i.folder / "bad.dawn"
        text = job_text(i)
        project.write_bytes(text.encode("utf-8", "surrogateescape") if isinstance(text, str) else text)
        return ["render", "--project", project, "-o", i.folder / "out.mp4", "--models", NO_STORE]
    return build


def _job(**fields):
    def text(i: Inputs) -> str:
        job = {"portrait": str(i.photo), "audio": str(i.speech), **fields}
        return json.dumps({"format": "dawn-studio-project", "version": 1, "job": job})
    return text


def _speech(kind: str):
    def build(i: Inputs) -> list:
        (i.folder / "empty-store").mkdir()
        if kind.startswith("long"):
            speech = write_wav(i.folder / "lecture.wav", 600.0, rate=8000)
            extra = ["--resolution", kind[4:]]
        elif kind == "garbage":
            speech = i.folder / "talk.mp3"
            speech.write_bytes(np.random.default_rng(1).integers(0, 255, 5000, dtype=np.uint8).tobytes())
            extra = []
        else:
            samples = 0.2 * np.sin(np.linspace(0, 400, 16000)).astype(np.float32)
            samples[5000:5100] = float(kind)
            speech = write_float_wav(i.folder / "broken.wav", samples)
            extra = []
        return render(i, "-a", speech, *extra, models=i.folder / "empty-store")
    return build


def _portrait(kind: str):
    def build(i: Inputs) -> list:
        if kind == "folder":
            photo = i.folder / "pictures"
            photo.mkdir()
        elif kind == "fifo":
            photo = i.folder / "pipe.jpg"
            os.mkfifo(photo)
        elif kind == "long":
            photo = i.folder / ("x" * 100_000)
        elif kind == "empty":
            photo = i.folder / "empty.jpg"
            photo.write_bytes(b"")
        else:
            photo = i.folder / "nope.jpg"
        return render(i, "-p", photo)
    return build


def _image(kind: str):
    def build(i: Inputs) -> list:
        import struct
        import zlib

        photo = i.folder / "photo.png"
        if kind == "truncated":
            photo.write_bytes(i.photo.read_bytes()[:200])
        elif kind == "text":
            photo = i.folder / "photo.jpg"
            photo.write_text("this is not a photo\n")
        elif kind == "tiny":
            from PIL import Image

            Image.new("RGB", (4, 4)).save(photo)
        else:  # a PNG whose header claims 100000 × 100000 pixels (a decompression bomb)
            def chunk(tag: bytes, data: bytes) -> bytes:
                return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))
            header = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0)
            photo.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
                              + chunk(b"IDAT", zlib.compress(bytes(1 << 16))) + chunk(b"IEND", b""))
        return render(i, "-p", photo)
    return build


def _check_not_128(i: Inputs, outcome) -> None:
    assert "choose 128×128" not in outcome.err, "suggests the size already chosen"


def _save_over_document(i: Inputs) -> list:
    (i.folder / "notes.txt").write_text("my notes, not a project\n")
    return render(i, "--save-project", i.folder / "notes.txt")


def _output_folder_missing(i: Inputs) -> list:
    return render(i, out="missing-folder/out.mp4")


def _output_is_folder(i: Inputs) -> list:
    (i.folder / "is-a-folder.mp4").mkdir()
    return render(i, "--overwrite", out="is-a-folder.mp4")


CASES: dict[str, Case] = {
    # a user's file is never destroyed
    "output is the photo": Case(lambda i: render(i, "-o", i.photo, "--format", "mp4", "--overwrite", out=None),
                                2, ("same file", "me.png")),
    "output is the speech": Case(lambda i: render(i, "-o", i.speech, "--format", "mp4", "--overwrite", out=None),
                                 2, ("same file", "talk.wav")),
    "output symlinks to the photo": Case(_alias("symlink"), 2, ("same file",)),
    "output hard-links to the photo": Case(_alias("hardlink"), 2, ("same file",)),
    "output reaches the photo through ..": Case(_alias("dotted"), 2, ("same file",)),
    "project saved over the photo": Case(lambda i: render(i, "--save-project", i.photo), 2, ("same file", "me.png")),
    "project saved over the output": Case(lambda i: render(i, "--save-project", i.folder / "out.mp4"), 2,
                                          ("same file",)),
    "project grants itself overwrite": Case(_project_over_video, 5, ("already exists", "--overwrite"),
                                            check=lambda i, _: (i.folder / "keep.mp4").read_bytes()
                                            == b"my holiday video"),
    "partial files of a killed run": Case(_partials, 3, (), check=_check_partials, same_listing=False),
    # every setting checked before heavy work
    "crf 99": Case(lambda i: render(i, "--crf", "99"), 2, ("CRF", "0", "51")),
    "crf -1": Case(lambda i: render(i, "--crf", "-1"), 2, ("CRF",)),
    "webm crf 70": Case(lambda i: render(i, "--crf", "70", out="out.webm"), 2, ("CRF", "63")),
    "quiet still reports": Case(lambda i: render(i, "-q", "--crf", "99"), 2, ("CRF",)),
    "steps 0": Case(lambda i: render(i, "--steps", "0"), 2, ("steps",)),
    "cfg nan": Case(lambda i: render(i, "--cfg", "nan"), 2, ("guidance",)),
    "enhance 1.5": Case(lambda i: render(i, "--enhance", "1.5"), 2, ("Face enhancement strength", "0 to 1")),
    "enhance -0.5": Case(lambda i: render(i, "--enhance", "-0.5"), 2, ("Face enhancement strength",)),
    "enhance nan": Case(lambda i: render(i, "--enhance", "nan"), 2, ("Face enhancement strength",)),
    "enhance high": Case(lambda i: render(i, "--enhance", "high"), 2, ("strength must be a number", "'high'")),
    "trim start -1": Case(lambda i: render(i, "--trim-start", "-1"), 2, ("trim",)),
    "trim start 1e308": Case(lambda i: render(i, "--trim-start", "1e308"), 2, ("trim",)),
    "trim start nan": Case(lambda i: render(i, "--trim-start", "nan"), 2, ("trim",)),
    "trim end before start": Case(lambda i: render(i, "--trim-start", "0.5", "--trim-end", "0.2"), 2, ("trim",)),
    "trim after the speech": Case(lambda i: render(i, "--trim-start", "5"), 2, ("after the end of the speech",)),
    "pose strength 7": Case(lambda i: render(i, "--pose-strength", "7"), 2, ("head motion",)),
    "face -3": Case(lambda i: render(i, "--face", "-3"), 2, ("face",)),
    "device cuda:7": Case(lambda i: render(i, "--device", "cuda:7"), 2, ("cuda:7", "cpu")),
    "device cuda": Case(lambda i: render(i, "--device", "cuda"), 2, ("cuda", "cpu")),
    "device tpu": Case(lambda i: render(i, "--device", "tpu"), 2, ("tpu", "cpu")),
    "unknown extension": Case(lambda i: render(i, out="out.avi"), 2, (".avi",)),
    "no output": Case(lambda i: render(i, out=None), 2, ("--output",)),
    "output folder missing": Case(_output_folder_missing, 5, ("missing-folder",)),
    "output is a folder": Case(_output_is_folder, 5, ("is-a-folder.mp4",)),
    # portrait and speech paths
    "portrait missing": Case(_portrait("missing"), 4, ("nope.jpg",)),
    "portrait is a folder": Case(_portrait("folder"), 4, ("pictures",)),
    "portrait is a named pipe": Case(_portrait("fifo"), 4, ("pipe.jpg", "not a regular file")),
    "portrait is empty": Case(_portrait("empty"), 4, ("empty.jpg",)),
    "portrait path of 100000 characters": Case(_portrait("long"), 2, ("too long",)),
    "ten-minute speech at 256": Case(_speech("long256"), 4, ("10:00", "trim", "at most")),
    "ten-minute speech at 128": Case(_speech("long128"), 4, ("10:00", "trim", "at most"), check=_check_not_128),
    "photo cut short": Case(_image("truncated"), 4, ("photo.png",)),
    "text named .jpg": Case(_image("text"), 4, ("photo.jpg",)),
    "photo of 4×4 pixels": Case(_image("tiny"), 4, ("photo.png",)),
    "photo claiming 100000×100000 pixels": Case(_image("bomb"), 4, ("photo.png",)),
    "project saved over a document": Case(_save_over_document, 5, ("notes.txt", "not a DAWN Studio project")),
    "project saved into a missing folder": Case(lambda i: render(i, "--save-project", i.folder / "no" / "p.dawn"),
                                                5, ("does not exist",)),
    "speech with NaN samples": Case(_speech("nan"), 4, ("the audio contains invalid samples",)),
    "speech with infinite samples": Case(_speech("inf"), 4, ("the audio contains invalid samples",)),
    "speech is random bytes": Case(_speech("garbage"), 4, ("talk.mp3",)),
    # malformed project files
    "project: folder": Case(lambda i: (i.folder / "p.dawn").mkdir() or
                            ["render", "--project", i.folder / "p.dawn", "-o", i.folder / "o.mp4"], 2, ("p.dawn",)),
    "project: missing": Case(lambda i: ["render", "--project", i.folder / "gone.dawn"], 2, ("gone.dawn",)),
    "project: string instead of object": Case(_project(lambda i: json.dumps(
        {"format": "dawn-studio-project", "version": 1, "job": "portrait.jpg"})), 2, ("project",)),
    "project: list": Case(_project(lambda i: "[1, 2, 3]"), 2, ("project",)),
    "project: deep nesting": Case(_project(lambda i: "[" * 200_000 + "]" * 200_000), 2, ("bad.dawn",)),
    "project: empty": Case(_project(lambda i: ""), 2, ("bad.dawn",)),
    "project: not UTF-8": Case(_project(lambda i: b"\xff\xfe{"), 2, ("bad.dawn",)),
    "project: number as portrait": Case(_project(_job(portrait=5)), 2, ("portrait",)),
    "project: list as audio": Case(_project(_job(audio=["a", "b"])), 2, ("speech",)),
    "project: text resolution": Case(_project(_job(resolution="128")), 2, ("resolution",)),
    "project: text guidance": Case(_project(_job(guidance_scale="lots")), 2, ("guidance",)),
    "project: NaN guidance": Case(_project(lambda i: _job()(i).replace('"audio"', '"guidance_scale": NaN, "audio"')),
                                  2, ("guidance",)),
    "project: fractional steps": Case(_project(_job(steps=2.5)), 2, ("steps",)),
    "project: true as face": Case(_project(_job(face_index=True)), 2, ("face",)),
    "project: trim 1e308": Case(_project(_job(trim_start=1e308)), 2, ("trim",)),
    "project: trim end 1e308": Case(_project(_job(trim_end=1e308)), 2, ("trim",)),
    "project: text trim": Case(_project(_job(trim_start="0")), 2, ("trim",)),
    "project: motion as list": Case(_project(_job(motion=[1])), 2, ("motion",)),
    "project: motion strength text": Case(_project(_job(motion={"pose_strength": "max"})), 2, ("pose",)),
    "project: output as text": Case(_project(_job(output="out.mp4")), 2, ("output",)),
    "project: quality as text": Case(_project(_job(output={"quality": "best"})), 2, ("quality",)),
    "project: output path number": Case(_project(_job(output={"path": 12})), 2, ("output",)),
    "project: unknown setting": Case(_project(_job(colour="red")), 2, ("colour",)),
    "project: 100000-character path": Case(_project(_job(portrait="p" * 100_000)), 2, ("too long",)),
    "project: relative paths as number": Case(_project(_job(relative_paths=7)), 2, ("project",)),
    "project: device number": Case(_project(_job(device=3)), 2, ("device",)),
}


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory):
    return run_batch(CASES, tmp_path_factory.mktemp("hostile-render"), None, None)


@pytest.mark.parametrize("case_id", list(CASES))
def test_hostile_render(outcomes, case_id):
    outcome, inputs = outcomes[case_id]
    judge(CASES[case_id], outcome, inputs)
    assert "Loading" not in outcome.err, "refused only after loading models"


def test_the_installed_command_refuses_an_input_as_output(tmp_path):
    """The same rule through ``python -m dawn_studio`` itself, not only through cli.main."""
    from support.hostile import make_inputs

    inputs = make_inputs(tmp_path / "w")
    inputs.snapshot()
    result = run_cli(*render(inputs, "-o", inputs.photo, "--format", "mp4", "--overwrite", out=None),
                     cwd=inputs.folder)
    assert result.code == 2 and "same file" in result.err
    inputs.unchanged()


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="file permissions do not bind root")
def test_unreadable_speech_names_the_file(tmp_path):
    from support.hostile import make_inputs

    inputs = make_inputs(tmp_path / "w")
    inputs.speech.chmod(0)
    try:
        result = run_cli(*render(inputs), cwd=inputs.folder)
    finally:
        inputs.speech.chmod(0o644)
    assert result.code == 4 and "talk.wav" in result.err and "permission denied" in result.err


def test_partial_file_of_a_killed_export_is_removed_by_the_next_run(tmp_path, tiny_store, face_photo):
    """SIGKILL while encoding leaves the hidden partial file; the next run to that output removes it."""
    import signal
    import subprocess
    import sys
    import time

    from support.hostile import make_inputs

    inputs = make_inputs(tmp_path / "w")
    long_speech = write_wav(inputs.folder / "long.wav", 6.0)
    argv = ["render", "-p", face_photo, "-a", long_speech, "-o", inputs.folder / "out.gif", "--steps", "1",
            "--models", tiny_store]
    process = subprocess.Popen([sys.executable, "-m", "dawn_studio", *map(str, argv)], cwd=inputs.folder,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 240
    partial = []
    while not partial and process.poll() is None and time.monotonic() < deadline:
        partial = list(inputs.folder.glob(".out.gif.*.partial.gif"))
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    if not partial:
        pytest.skip("the export finished before it could be interrupted")
    assert partial[0].exists() and not (inputs.folder / "out.gif").exists()
    (inputs.folder / "no-models").mkdir()
    result = run_cli(*argv[:-1], inputs.folder / "no-models", cwd=inputs.folder)
    assert result.code == 3
    assert not list(inputs.folder.glob(".*.partial*")), "the killed run's partial file is still there"
