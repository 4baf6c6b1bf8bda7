"""Hostile model files and stores: broken, booby-trapped or absurd files are refused with a message and
the documented exit code (3 for a model problem), nothing in them runs, nothing hangs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from support.hostile import Case, Inputs, judge, run_batch, run_cli


class _Payload:
    """Pickled, this asks the loader to run a shell command that leaves a marker file."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def marker(i: Inputs) -> Path:
    return i.folder.parent / f"{i.folder.name}-PAYLOAD-RAN"


def write_payload(path: Path, i: Inputs) -> None:
    import torch

    if path.is_symlink():
        path.unlink()  # the tiny set links the real 3DDFA files: never write through the link
    torch.save({"state_dict": {"w": _Payload(marker(i))}}, path)


def replace_file(path: Path, data: bytes) -> None:
    if path.is_symlink() or path.exists():
        path.unlink()
    path.write_bytes(data)


def _render_with_store(*extra: str):
    def build(i: Inputs) -> list:
        return ["render", "-p", i.face, "-a", i.speech, "-o", i.folder / "out.mp4", "--models", i.store,
                "--steps", "1", *extra]
    return build


def _broken(rel: str, data: bytes | str, *extra: str):
    def build(i: Inputs) -> list:
        replace_file(i.store / rel, data.encode() if isinstance(data, str) else data)
        return _render_with_store(*extra)(i)
    return build


def _verify_payload(i: Inputs) -> list:
    write_payload(i.store / "DAWN_128.pth", i)
    return ["models", "--store", i.store, "verify", "dawn_128"]


def _import_payload(i: Inputs) -> list:
    source = i.folder / "copied"
    source.mkdir()
    write_payload(source / "DAWN_128.pth", i)
    (i.folder / "target").mkdir()
    return ["models", "--store", i.folder / "target", "import", source]


def _import_links(i: Inputs) -> list:
    source = i.folder / "copied"
    source.mkdir()
    (source / "LFG_128_1000ep.pth").symlink_to("/dev/zero")
    outside = i.folder / "elsewhere.pth"
    outside.write_bytes(b"not in the imported folder")
    (source / "DAWN_128.pth").symlink_to(outside)
    with open(source / "DAWN_256.pth", "wb") as sparse:
        sparse.truncate(40 << 30)  # 40 GB announced, nothing on disk
    (i.folder / "target").mkdir()
    return ["models", "--store", i.folder / "target", "import", source]


def _check_links(i: Inputs, outcome) -> None:
    for name in ("LFG_128_1000ep.pth", "DAWN_128.pth", "DAWN_256.pth"):
        assert f"Refused {name}" in outcome.out, outcome.out
    assert "outside the imported folder" in outcome.out and "far larger" in outcome.out
    assert not any((i.folder / "target").rglob("*.pth")), "a refused file was installed"


def _ledger(text: str):
    def build(i: Inputs) -> list:
        (i.store / ".dawn-studio-ledger.json").write_text(text)
        return ["models", "--store", i.store, "list"]
    return build


def _no_payload_ran(i: Inputs, _outcome) -> None:
    assert not marker(i).exists(), "the model file's payload ran"


def _hubert(**sizes):
    def build(i: Inputs) -> list:
        path = i.store / "hubert-large-ls960-ft" / "config.json"
        config = json.loads(path.read_text())
        config.update(sizes)
        path.write_text(json.dumps(config))
        return _render_with_store()(i)
    return build


UNSAFE_YAML = "checkpoints_dir: x\nhack: !!python/object/apply:os.system ['touch {marker}']\n"


def _unsafe_yaml(i: Inputs) -> list:
    replace_file(i.store / "pbnet_seperate" / "pose" / "opt.yaml", UNSAFE_YAML.format(marker=marker(i)).encode())
    return _render_with_store()(i)


CASES: dict[str, Case] = {
    "broken face detector": Case(_broken("3ddfa/FaceBoxesProd.pth", b"PK\x03\x04 not really a zip"), 3,
                                 ("FaceBoxesProd.pth",), needs_store=True),
    "face detector with a payload": Case(lambda i: write_payload(i.store / "3ddfa" / "FaceBoxesProd.pth", i)
                                         or _render_with_store()(i), 3, ("refusing",), needs_store=True,
                                         check=_no_payload_ran),
    "architecture.json not JSON": Case(_broken("architecture.json", "{{{"), 3, ("architecture.json",),
                                       needs_store=True),
    "architecture.json a list": Case(_broken("architecture.json", "[1, 2]"), 3, ("architecture.json",),
                                     needs_store=True),
    "architecture.json a list, -v": Case(_broken("architecture.json", "[1, 2]"), 3, ("architecture.json",),
                                         needs_store=True, verbose=True),
    "architecture.json unknown preset": Case(_broken("architecture.json", '{"preset": "huge"}'), 3,
                                             ("preset",), needs_store=True),
    "HuBERT 10^9 wide": Case(_hubert(hidden_size=10**9), 3, ("hidden_size",), needs_store=True),
    "HuBERT 10^6 layers": Case(_hubert(num_hidden_layers=10**6), 3, ("num_hidden_layers",), needs_store=True),
    "HuBERT conv 10^7": Case(_hubert(conv_dim=[10**7] * 7), 3, ("conv_dim",), needs_store=True),
    "unsafe YAML": Case(_unsafe_yaml, 3, ("python/object",), needs_store=True, check=_no_payload_ran),
    "diffusion weights with a payload": Case(lambda i: write_payload(i.store / "DAWN_128.pth", i)
                                             or _render_with_store()(i), 3, ("refusing",), needs_store=True,
                                             check=_no_payload_ran),
    "enhancer weights with a payload": Case(lambda i: write_payload(i.store / "gfpgan" / "GFPGANv1.4.pth", i)
                                            or _render_with_store("--enhance")(i), 3, ("GFPGANv1.4.pth", "refusing"),
                                            needs_store=True, check=_no_payload_ran),
    "enhancer weights truncated": Case(_broken("gfpgan/GFPGANv1.4.pth", b"PK\x03\x04 not really a zip", "--enhance"),
                                       3, ("GFPGANv1.4.pth",), needs_store=True),
    "quiet, face 9": Case(_render_with_store("-q", "--face", "9"), 4, ("face",), needs_store=True),
    "verify a payload": Case(_verify_payload, 1, ("CORRUPT", "refusing"), needs_store=True,
                             check=_no_payload_ran),
    "import a payload": Case(_import_payload, 1, ("Refused DAWN_128.pth", "refusing"), check=_no_payload_ran,
                             same_listing=False),
    "import links and a sparse giant": Case(_import_links, 1, (), check=_check_links, same_listing=False),
    "ledger not JSON": Case(_ledger("{{{ garbage"), 0, ("ignored", "Features:"), needs_store=True),
    "ledger a list": Case(_ledger("[1, 2, 3]"), 0, ("ignored",), needs_store=True),
    "ledger a list, as JSON": Case(lambda i: _ledger("[1, 2, 3]")(i) + ["--json"], 0, ('"ledger_ignored": [',
                                                                                   "not an object"),
                                   needs_store=True),
    "ledger sections wrong": Case(_ledger('{"verified": [1, 2], "recorded": {"a": 5}}'), 0,
                                  ("ignored", "verified"), needs_store=True),
}


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory, tiny_store, face_photo):
    return run_batch(CASES, tmp_path_factory.mktemp("hostile-models"), tiny_store, face_photo)


@pytest.mark.parametrize("case_id", list(CASES))
def test_hostile_models(outcomes, case_id):
    outcome, inputs = outcomes[case_id]
    judge(CASES[case_id], outcome, inputs)


def test_import_of_a_named_pipe_neither_hangs_nor_copies(tmp_path):
    source = tmp_path / "copied"
    source.mkdir()
    os.mkfifo(source / "DAWN_128.pth")  # nobody ever writes into it: opening it to read would block
    target = tmp_path / "target"
    target.mkdir()
    result = run_cli("models", "--store", target, "import", source, cwd=tmp_path, timeout=60)
    assert result.code == 1 and "Refused DAWN_128.pth" in result.out and "named pipe" in result.out
    assert not any(target.rglob("*.pth"))


def test_ctrl_c_while_starting_up_is_one_line_and_exit_130(tmp_path):
    process = subprocess.Popen([sys.executable, "-m", "dawn_studio", "models", "--store", tmp_path, "list"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    time.sleep(0.4)  # inside the imports (torch alone takes longer)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    if process.returncode == 0:
        pytest.skip("the command finished before the signal arrived")
    assert process.returncode == 130, err
    assert err.strip() == "Cancelled." and "Traceback" not in err


def test_curve_whose_header_claims_48_terabytes(tmp_path):
    """A creator's pose curve (imported in the studio's motion editor): the header is not believed."""
    from dawn_studio.stages.motion import MotionError, read_curve

    path = tmp_path / "pose.npy"
    header = "{'descr': '<f4', 'fortran_order': False, 'shape': (2000000000000, 6), }".ljust(117) + "\n"
    path.write_bytes(b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header.encode() + bytes(240))
    started = time.monotonic()
    with pytest.raises(MotionError, match="header announces"):
        read_curve(path, "pose", 10)
    assert time.monotonic() - started < 5
