"""The take store on disk: what a take keeps, reading it back, renaming, and the size limit's clean-up."""

import json
import shutil

import numpy as np
import pytest
from support.paths import sample_portrait

from dawn_studio.engine.engine import GenerationResult
from dawn_studio.engine.job import Job
from dawn_studio.project import Session, load_project, save_project
from dawn_studio.stages.motion import MotionControls, MotionSequences
from dawn_studio.stages.portrait import FaceCrop, FaceResult, load_portrait
from dawn_studio.takes import TakeError, TakeStore


def a_result(portrait_path, audio_path, seed=7, frames=6):
    """A small generation result as the engine returns it (pixels drawn at random, shapes as real)."""
    portrait = load_portrait(portrait_path)
    crop = FaceCrop(10, 20, 64, 64, 32, portrait.height, portrait.width)
    face = FaceResult(box=(10.0, 20.0, 74.0, 84.0), score=0.9, pose=(1.0, 2.0, 3.0, 0.5, 60.0, 60.0, 0.0),
                      eye_ratios=(0.3, 0.31), bbox=(4, 28, 6, 30, 32, 32), crop=crop, estimated=False,
                      landmark_source="bfm", params=np.arange(62, dtype=np.float32), roi_box=(0.0, 0.0, 90.0, 90.0),
                      extent=(12.0, 70.0, 25.0, 80.0), landmarks=np.ones((68, 3), dtype=np.float32))
    rng = np.random.default_rng(seed)
    job = Job(portrait=str(portrait_path), audio=str(audio_path), motion=MotionControls(seed=seed))
    return GenerationResult(job, rng.integers(0, 255, (frames, 32, 32, 3), dtype=np.uint8), portrait, face,
                            MotionSequences(np.zeros((frames, 6)), np.full((frames, 2), 0.3)),
                            rng.standard_normal(frames * 640).astype(np.float32), 16000, warnings=("quiet",))


@pytest.fixture
def photo(tmp_path):
    path = tmp_path / "me.jpeg"
    shutil.copyfile(sample_portrait("real_female_1.jpeg"), path)
    return path


def test_a_take_keeps_everything_to_play_and_export_it(tmp_path, photo):
    store = TakeStore(tmp_path / "takes")
    result = a_result(photo, tmp_path / "speech.wav")
    take = store.add(result)
    assert take.name == "Take 1" and take.seed == 7 and take.num_frames == 6 and take.thumbnail.is_file()
    photo.unlink()  # the original photo moved away: the take still has its own copy
    back = store.load_result(take)
    assert np.array_equal(back.frames, result.frames) and np.array_equal(back.track, result.track)
    assert (back.face.crop, back.face.pose, back.face.bbox) == (result.face.crop, result.face.pose, result.face.bbox)
    assert np.array_equal(back.face.params, result.face.params)
    assert np.array_equal(back.face.landmarks, result.face.landmarks)
    assert np.array_equal(back.motion.blink, result.motion.blink) and back.warnings == ("quiet",)
    assert back.job == result.job
    assert next(back.full_frames()).shape[:2] == (back.portrait.height - back.portrait.height % 2,
                                                   back.portrait.width - back.portrait.width % 2)
    for copy in store.portraits.iterdir():
        copy.unlink()
    with pytest.raises(TakeError, match="photo .* is gone"):
        store.load_result(take)


def test_rename_and_damaged_takes(tmp_path, photo):
    store = TakeStore(tmp_path / "takes")
    take = store.add(a_result(photo, tmp_path / "a.wav"))
    assert store.rename(take.id, "  Calm   version ").name == "Calm version"
    with pytest.raises(TakeError):
        store.rename(take.id, "   ")
    second = store.add(a_result(photo, tmp_path / "a.wav", seed=8))
    (second.folder / "take.json").write_text("{ not json")
    assert [t.id for t in store.list()] == [take.id], "a damaged take is skipped, never a crash"
    assert store.get("../escape") is None


def test_clean_up_removes_the_oldest_unreferenced_takes_first(tmp_path, photo):
    store = TakeStore(tmp_path / "takes")
    takes = [store.add(a_result(photo, tmp_path / "a.wav", seed=s)) for s in range(4)]
    per_take = store.size_bytes() // 4
    store.limit_bytes = per_take * 2 + per_take // 2  # room for two takes and the shared photo
    (store.root / ".half.partial").mkdir()
    removed = store.clean_up(referenced={takes[0].id})
    assert removed == [takes[1].id, takes[2].id]
    assert [t.id for t in store.list()] == [takes[0].id, takes[3].id]
    assert not (store.root / ".half.partial").exists()
    assert len(list(store.portraits.iterdir())) == 1, "the shared photo stays while a take uses it"
    for take in store.list():
        store.delete(take.id)
    assert list(store.portraits.iterdir()) == [], "the photo goes with its last take"


def test_a_project_keeps_its_takes_and_the_command_line_still_reads_it(tmp_path, photo):
    job = Job(portrait=str(photo), audio=str(tmp_path / "a.wav"), trim_end=2.0)
    path = save_project(tmp_path / "p.dawn", job, Session(("t1", "t2"), "t2"))
    assert Job.load(path) == job
    assert load_project(path) == (job, Session(("t1", "t2"), "t2"))
    document = json.loads(path.read_text())
    document["studio"] = {"takes": "garbage"}
    path.write_text(json.dumps(document))
    assert load_project(path)[1] == Session(), "a damaged takes list opens the project without takes"
