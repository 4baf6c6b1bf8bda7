"""Jobs validate their settings and round-trip through project files, even when moved."""

import json
import shutil

import pytest

from dawn_studio.engine.job import Job, JobError, OutputSettings
from dawn_studio.stages.motion import MotionControls


@pytest.fixture
def inputs(tmp_path):
    folder = tmp_path / "shoot"
    folder.mkdir()
    (folder / "face.jpg").write_bytes(b"jpg")
    (folder / "voice.wav").write_bytes(b"wav")
    return folder


def make_job(folder, **changes):
    return Job(portrait=str(folder / "face.jpg"), audio=str(folder / "voice.wav"), **changes)


def test_round_trip(inputs):
    job = make_job(inputs, resolution=256, steps=8, trim_start=1.5, trim_end=4.0,
                   motion=MotionControls(head_motion=0.5, blink_strength=0.0, seed=7),
                   output=OutputSettings(format="webm", full_frame=False), enhance=0.7)
    path = job.save(inputs / "talk.dawn")
    assert Job.load(path) == job
    assert Job.load(path).enhance == 0.7
    assert Job.load(make_job(inputs).save(inputs / "plain.dawn")).enhance is None
    assert json.loads(path.read_text())["format"] == "dawn-studio-project"


def test_moved_project_folder_still_opens(inputs, tmp_path):
    make_job(inputs).save(inputs / "talk.dawn")
    moved = tmp_path / "elsewhere"
    shutil.move(str(inputs), moved)
    job = Job.load(moved / "talk.dawn")
    assert job.portrait == str((moved / "face.jpg").resolve())
    assert job.audio == str((moved / "voice.wav").resolve())


@pytest.mark.parametrize("changes,message", [
    ({"resolution": 512}, "Resolution must be 128 or 256"),
    ({"steps": 0}, "Diffusion steps"),
    ({"guidance_scale": float("nan")}, "Guidance scale"),
    ({"trim_start": 3.0, "trim_end": 2.0}, "trim end"),
    ({"precision": "int8"}, "Precision"),
    ({"output": None}, "output settings"),
    ({"enhance": 1.5}, "Face enhancement strength"),
    ({"enhance": -0.1}, "Face enhancement strength"),
    ({"enhance": True}, "Face enhancement strength"),
    ({"enhance": "high"}, "Face enhancement strength"),
    ({"enhance": float("nan")}, "Face enhancement strength"),
])
def test_bad_settings_are_named(inputs, changes, message):
    with pytest.raises(JobError, match=message):
        make_job(inputs, **changes)


@pytest.mark.parametrize("changes,message", [
    ({"format": "avi"}, "Output format"),
    ({"quality": 52}, "from 0 to 51 for MP4"),
    ({"format": "webm", "quality": 64}, "from 0 to 63 for WEBM"),
    ({"quality": True}, "CRF"),
    ({"overwrite": "yes"}, "overwrite"),
])
def test_bad_output_settings_are_named(changes, message):
    with pytest.raises(JobError, match=message):
        OutputSettings(**changes)


def test_a_project_never_grants_overwrite(tmp_path, inputs):
    document = make_job(inputs).to_dict()
    document["job"]["output"]["overwrite"] = True
    (tmp_path / "p.dawn").write_text(json.dumps(document))
    assert Job.load(tmp_path / "p.dawn").output.overwrite is False


def test_bad_project_files(tmp_path, inputs):
    (tmp_path / "a.dawn").write_text("{not json")
    with pytest.raises(JobError, match="not a readable project"):
        Job.load(tmp_path / "a.dawn")
    (tmp_path / "b.dawn").write_text(json.dumps({"format": "something-else"}))
    with pytest.raises(JobError, match="Not a DAWN Studio project"):
        Job.load(tmp_path / "b.dawn")
    document = make_job(inputs).to_dict()
    document["version"] = 99
    (tmp_path / "c.dawn").write_text(json.dumps(document))
    with pytest.raises(JobError, match="newer DAWN Studio"):
        Job.load(tmp_path / "c.dawn")
    document = make_job(inputs).to_dict()
    document["job"]["motion"]["wobble"] = 3
    (tmp_path / "d.dawn").write_text(json.dumps(document))
    with pytest.raises(JobError, match="wobble"):
        Job.load(tmp_path / "d.dawn")
    with pytest.raises(JobError, match="not found"):
        Job.load(tmp_path / "missing.dawn")
