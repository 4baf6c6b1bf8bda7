"""The engine: caching, determinism, cancel and previews, with the tiny model set."""

import numpy as np
import pytest

from dawn_studio.engine.engine import Engine
from dawn_studio.engine.job import Job, OutputSettings
from dawn_studio.progress import Cancelled, CancelToken
from dawn_studio.stages.motion import MotionControls


def frames_differ_over_time(frames: np.ndarray) -> bool:
    return float(np.abs(frames[0].astype(np.int16) - frames[-1].astype(np.int16)).mean()) > 0.5


@pytest.fixture(scope="module")
def engine(tiny_store):
    return Engine(tiny_store)


def job_for(portrait, speech, **changes):
    return Job(portrait=str(portrait), audio=str(speech), steps=3, **changes)


def test_run_gives_frames_previews_and_motion(engine, portrait_path, speech_2s):
    events = []
    result = engine.run(job_for(portrait_path, speech_2s), events.append)
    try:
        assert result.frames.shape == (50, 128, 128, 3) and result.frames.dtype == np.uint8
        assert frames_differ_over_time(result.frames)
        assert result.motion.frames == 50
        assert result.preview_path("crop") and result.preview_path("full")
        stages = [e.stage for e in events]
        for stage in ("load", "portrait", "speech", "motion", "diffusion", "render", "compose"):
            assert stage in stages
        diffusion_steps = [e.step for e in events if e.stage == "diffusion"]
        assert diffusion_steps[-1] == 3
        fractions = [e.fraction for e in events]
        assert fractions == sorted(fractions) and fractions[-1] == pytest.approx(1.0)
    finally:
        result.discard_previews()


def test_changing_pose_strength_reuses_analysis_features_and_motion(engine, portrait_path, speech_2s):
    base = job_for(portrait_path, speech_2s)
    engine.run(base, previews=False)
    hits_before = dict(engine.cache.hits)
    loads_before = dict(engine.models.loads)
    events = []
    changed = base.with_changes(motion=MotionControls(head_motion=0.3))
    engine.run(changed, events.append, previews=False)
    for stage in ("portrait", "speech", "motion"):
        assert engine.cache.hits.get(stage, 0) == hits_before.get(stage, 0) + 1, stage
        assert any(e.stage == stage and e.cached for e in events), stage
    assert engine.models.loads == loads_before, "models are loaded once and kept"


def test_same_seed_same_frames_other_seed_other_frames(engine, portrait_path, speech_2s):
    job = job_for(portrait_path, speech_2s, motion=MotionControls(seed=11))
    first = engine.run(job, previews=False).frames
    engine.cache.clear()
    again = engine.run(job, previews=False).frames
    other = engine.run(job.with_changes(motion=MotionControls(seed=12)), previews=False).frames
    assert np.array_equal(first, again)
    assert not np.array_equal(first, other)


def test_cancel_mid_diffusion_leaves_no_output(engine, portrait_path, speech_2s, tmp_path):
    out = tmp_path / "clip.mp4"
    job = job_for(portrait_path, speech_2s, output=OutputSettings(path=str(out)))
    token = CancelToken()
    engine.cache.clear()  # the frames of an earlier run of the same job would be reused

    def on_event(event):
        if event.stage == "diffusion" and event.step == 1:
            token.cancel()

    with pytest.raises(Cancelled):
        engine.run(job, on_event, token)
    assert list(tmp_path.iterdir()) == []


def test_export_crop_and_full(engine, portrait_path, speech_2s, tmp_path):
    from dawn_studio.stages.export import ExportSettings

    result = engine.run(job_for(portrait_path, speech_2s), previews=False)
    crop = engine.export(result, tmp_path / "crop.webm", ExportSettings(format="webm"), full_frame=False)
    full = engine.export(result, tmp_path / "full.gif", ExportSettings(format="gif"))
    assert crop.stat().st_size > 0 and full.stat().st_size > 0


def test_full_photo_preview_is_scaled_for_quick_encoding():
    from dawn_studio.engine.engine import fit_within

    big = np.zeros((3000, 4001, 3), np.uint8)
    small = np.zeros((480, 640, 3), np.uint8)
    scaled = list(fit_within(iter([big, small]), 1280))
    assert scaled[0].shape == (958, 1280, 3), "longer side 1280, sides even, aspect kept"
    assert scaled[1] is small, "never scaled up"


@pytest.mark.parametrize("fits", [True, False])
def test_freed_memory_is_kept_only_when_it_fits_and_given_back_after(engine, portrait_path, speech_2s,
                                                                     monkeypatch, fits):
    from dawn_studio import heap
    from dawn_studio.engine import engine as engine_module

    settings: list[bool] = []
    returned: list[bool] = []
    monkeypatch.setattr(engine_module, "check_fits", lambda *_args, **_kw: fits)
    monkeypatch.setattr(heap, "keep_freed_memory", lambda keep: settings.append(keep) or True)
    monkeypatch.setattr(heap, "return_freed_memory", lambda: returned.append(True) or True)
    events = []
    engine.cache.clear()  # generate afresh (the last clip's frames are cached)
    engine.run(job_for(portrait_path, speech_2s), events.append, previews=False)
    assert settings == ([True, False] if fits else [])
    assert returned == ([True] if fits else [])
    token = CancelToken()  # a cancelled job restores the default too
    settings.clear()

    def cancel_in_diffusion(event):
        if event.stage == "diffusion" and event.step == 1:
            token.cancel()

    engine.cache.clear()
    with pytest.raises(Cancelled):
        engine.run(job_for(portrait_path, speech_2s), cancel_in_diffusion, token, previews=False)
    assert settings == ([True, False] if fits else [])
