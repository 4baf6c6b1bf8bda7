"""Face enhancement in the engine, with the tiny model set's random-weight enhancer: a 512² clip, a new
strength that neither generates nor restores again, cancel per batch, and a clear error without weights."""

import os

import numpy as np
import pytest

from dawn_studio.engine import engine as engine_module
from dawn_studio.engine.engine import Engine
from dawn_studio.engine.job import Job
from dawn_studio.engine.models import ModelLoadError
from dawn_studio.progress import Cancelled, CancelToken
from dawn_studio.stages.enhance import upscale
from dawn_studio.stages.motion import MotionControls


@pytest.fixture(scope="module")
def engine(tiny_store):
    return Engine(tiny_store)


def job_for(portrait, speech, **changes):
    return Job(portrait=str(portrait), audio=str(speech), steps=2, trim_end=0.4, **changes)  # 10 frames


def counting(monkeypatch, module, name):
    calls = []
    original = getattr(module, name)

    def wrapper(*args, **kwargs):
        calls.append(name)
        return original(*args, **kwargs)

    monkeypatch.setattr(module, name, wrapper)
    return calls


def test_a_new_strength_neither_generates_nor_restores_again(engine, portrait_path, speech_2s, monkeypatch):
    diffusion = counting(monkeypatch, engine_module, "sample_flows")
    restoring = counting(monkeypatch, engine_module, "enhance_frames")
    events = []
    engine.cache.clear()
    full = engine.run(job_for(portrait_path, speech_2s, enhance=1.0), events.append, previews=False)
    assert full.frames.shape == (10, 512, 512, 3) and full.frames.dtype == np.uint8
    assert [e.stage for e in events if e.stage == "enhance"], "the enhancement reports its progress"
    assert events[-1].fraction == pytest.approx(1.0)
    assert (diffusion, restoring) == (["sample_flows"], ["enhance_frames"])

    events.clear()
    weak = engine.run(job_for(portrait_path, speech_2s, enhance=0.3), events.append, previews=False)
    plain = engine.run(job_for(portrait_path, speech_2s), previews=False)
    assert (diffusion, restoring) == (["sample_flows"], ["enhance_frames"]), "generated and restored once"
    assert any(e.stage == "diffusion" and e.cached for e in events)
    assert any(e.stage == "enhance" and e.cached for e in events)
    assert plain.frames.shape == (10, 128, 128, 3)

    base = np.stack([upscale(f, 512) for f in plain.frames]).astype(float)
    change_full = np.abs(full.frames - base).mean()
    change_weak = np.abs(weak.frames - base).mean()
    assert change_full > 1.0, "the random-weight restorer changes the face"
    assert change_weak == pytest.approx(0.3 * change_full, rel=0.1)
    untouched = (full.frames == base).all(axis=(0, 3))
    assert untouched.any() and (weak.frames[:, untouched] == base[:, untouched]).all()


def test_cancel_during_enhancement(engine, portrait_path, speech_2s):
    token = CancelToken()

    def on_event(event):
        if event.stage == "enhance" and event.step > 0 and not event.cached:
            token.cancel()

    engine.cache.clear()
    with pytest.raises(Cancelled):
        engine.run(job_for(portrait_path, speech_2s, enhance=0.8, motion=MotionControls(seed=3)),
                   on_event, token, previews=False)


def test_missing_enhancer_weights_are_named_before_generating(tiny_store, tmp_path, portrait_path, speech_2s,
                                                               monkeypatch):
    folder = tmp_path / "no-enhancer"
    folder.mkdir()
    for entry in tiny_store.iterdir():
        if entry.name != "gfpgan":
            os.symlink(entry, folder / entry.name)
    diffusion = counting(monkeypatch, engine_module, "sample_flows")
    with pytest.raises(ModelLoadError, match="GFPGAN v1.4 weights"):
        Engine(folder).run(job_for(portrait_path, speech_2s, enhance=1.0), previews=False)
    assert diffusion == []
