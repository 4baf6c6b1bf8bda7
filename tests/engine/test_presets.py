"""The reference preset switches every documented deviation back; recorded draws replace the seed.

Runs with the tiny model set on a non-square crop of a sample portrait (so the box-axis swap and
the squash framing show) and report their hand-overs through the engine's observer.
"""

import pickle
import shutil
from dataclasses import replace

import numpy as np
import pytest
import torch
from PIL import Image

from dawn_studio.engine import presets
from dawn_studio.engine.draws import RecordedDraws
from dawn_studio.engine.engine import Engine, EngineError
from dawn_studio.engine.job import Job, JobError
from dawn_studio.loading.checkpoint import CheckpointError
from dawn_studio.loading.model_folder import PORTRAIT_FOLDER
from dawn_studio.networks.a2v import FaceLocationEncoder, bbox_mask
from dawn_studio.stages.audio import REFERENCE_DECODING, STUDIO_DECODING, decode_audio
from dawn_studio.stages.motion import MotionControls

STEPS = 2


def synthetic_bfm(vertices: int = 400, seed: int = 0) -> dict[str, np.ndarray]:
    """A face model shaped like ``bfm_noneck_v3.pkl`` (the real one is not available): points on the
    front of an ellipsoid at the BFM's scale, bases at the scale of 3DDFA's parameters, 68 of the points as
    landmarks."""
    rng = np.random.default_rng(seed)
    theta, phi = rng.uniform(-1.2, 1.2, vertices), rng.uniform(-1.2, 1.2, vertices)
    points = np.stack([7.5e4 * np.sin(theta) * np.cos(phi), 9.5e4 * np.sin(phi),
                       6.0e4 * np.cos(theta) * np.cos(phi)], axis=1)
    keypoints = rng.choice(vertices, 68, replace=False)
    return {"u": points.reshape(-1, 1).astype(np.float32),
            "w_shp": rng.normal(0, 1e-3, (3 * vertices, 40)).astype(np.float32),
            "w_exp": rng.normal(0, 1e3, (3 * vertices, 10)).astype(np.float32),
            "keypoints": np.stack([3 * keypoints, 3 * keypoints + 1, 3 * keypoints + 2], axis=1).reshape(-1)}


@pytest.fixture(scope="module")
def engine(tiny_store, tmp_path_factory):
    """The tiny model set plus a synthetic face model, so that landmarks come from the mesh."""
    root = tmp_path_factory.mktemp("tiny-with-bfm") / "models"
    shutil.copytree(tiny_store, root, symlinks=True)
    (root / PORTRAIT_FOLDER / "bfm_noneck_v3.pkl").write_bytes(pickle.dumps(synthetic_bfm(), protocol=2))
    return Engine(root)


@pytest.fixture(scope="module")
def tall_portrait(portrait_path, tmp_path_factory):
    """The sample portrait cut to 4:5 (taller than wide), saved losslessly."""
    image = Image.open(portrait_path).convert("RGB")
    width, height = image.size
    path = tmp_path_factory.mktemp("tall") / "tall.png"
    image.crop((width // 10, 0, width - width // 10, height)).save(path)
    return path


def observed_run(engine, job, **kwargs):
    seen = {}
    result = engine.run(job, previews=False, observe=lambda name, value: seen.__setitem__(name, value), **kwargs)
    return result, seen


def test_reference_preset_switches_every_deviation_back(engine, tall_portrait, speech_2s, monkeypatch):
    # a 20-frame cap stands for the reference's 200 frames, so that a 2-s clip (50 frames) is cut
    monkeypatch.setitem(presets.BEHAVIOURS, "reference", replace(presets.REFERENCE, max_rendered_frames=20))
    studio_job = Job(portrait=str(tall_portrait), audio=str(speech_2s), steps=STEPS)
    studio, studio_seen = observed_run(engine, studio_job)
    reference, seen = observed_run(engine, studio_job.with_changes(preset="reference"))

    # B5: PBNet sees all 50 frames, 20 are rendered
    assert seen["dri_pose"].shape[0] == 50 and reference.motion.frames == 50
    assert reference.num_frames == 20 and seen["a2v.cond"].shape[1] == 20
    assert studio.num_frames == 50
    # B9: the generator sees the whole photo squashed; the box is in the photo's pixels
    rgb = np.asarray(Image.open(tall_portrait).convert("RGB"))
    squashed = np.asarray(Image.fromarray(rgb).resize((128, 128), Image.Resampling.BILINEAR))
    assert np.array_equal(seen["a2v.sample_img"][0].permute(1, 2, 0).mul(255).round().byte().numpy(), squashed)
    height, width = rgb.shape[:2]
    assert seen["init_eye_bbox"][0, 6:].tolist() == [height, width]
    # B6: the mask divides x by the height and y by the width
    bbox = seen["a2v.sample_bbox"]
    assert torch.equal(seen["a2v.bbox_mask"], bbox_mask(bbox, 128, "reference"))
    assert not torch.equal(seen["a2v.bbox_mask"], bbox_mask(bbox, 128, "fixed"))
    assert torch.equal(studio_seen["a2v.bbox_mask"], bbox_mask(studio_seen["a2v.sample_bbox"], 128, "fixed"))
    # B3: eye ratios and box from the dense mesh, not the 68 landmarks
    assert seen["bfm.vertices_face0"].shape[1] > 68 and studio_seen["bfm.vertices_face0"].shape[1] == 68
    dense = seen["bfm.vertices_face0"]
    assert seen["init_eye_bbox"][0, 2] == int(dense[0].min()) and seen["init_eye_bbox"][0, 3] == int(dense[0].max())
    # B10: channel 0 through FFmpeg's default resampler, 16-bit samples
    assert np.array_equal(seen["audio.speech_16k"], decode_audio(speech_2s, REFERENCE_DECODING).samples)
    assert np.array_equal(studio_seen["audio.speech_16k"], decode_audio(speech_2s, STUDIO_DECODING).samples)


def test_recorded_draws_replace_the_seed(engine, portrait_path, speech_2s):
    job = Job(portrait=str(portrait_path), audio=str(speech_2s), steps=STEPS, preset="reference")
    pose_model, _ = engine.models.motion(torch.device("cpu"))
    size = engine.models.video(128, torch.device("cpu")).config.latent_size
    generator = torch.Generator().manual_seed(5)
    draws = [torch.randn(50, 1, pose_model.config.latent_dim, generator=generator) for _ in range(2)]
    draws += [torch.randn(1, 3, 50, size, size, generator=generator) for _ in range(STEPS)]
    recorded = RecordedDraws.in_draw_order(draws)

    first, seen = observed_run(engine, job.with_changes(motion=MotionControls(seed=1)), draws=recorded)
    again = engine.run(job.with_changes(motion=MotionControls(seed=2)), previews=False, draws=recorded)
    seeded = engine.run(job, previews=False)
    assert np.array_equal(first.frames, again.frames), "with recorded draws the seed plays no part"
    assert not np.array_equal(first.frames, seeded.frames)
    other = RecordedDraws(recorded.pose, recorded.blink, (recorded.diffusion[0] * -1, *recorded.diffusion[1:]))
    assert not np.array_equal(engine.run(job, previews=False, draws=other).frames, first.frames)
    assert seen["a2v.ddim_eps"].shape[0] == STEPS and seen["a2v.ddim_times"].tolist() == [666, 333]

    with pytest.raises(EngineError, match="3 diffusion steps draw 3 noise tensors, 2 were recorded"):
        engine.run(job.with_changes(steps=3), previews=False, draws=recorded)
    with pytest.raises(EngineError, match="pose latent has shape"):
        engine.run(job, previews=False, draws=RecordedDraws(recorded.pose[:10], recorded.blink, recorded.diffusion))


def test_face_location_weights_are_selectable(engine, portrait_path, speech_2s, tmp_path):
    zeros = {name: torch.zeros_like(value) for name, value in FaceLocationEncoder().state_dict().items()}
    torch.save(zeros, tmp_path / "zeros.pth")
    job = Job(portrait=str(portrait_path), audio=str(speech_2s), steps=1)
    _, shipped = observed_run(engine, job)
    _, chosen = observed_run(engine, job.with_changes(face_loc_weights=str(tmp_path / "zeros.pth")))
    assert shipped["a2v.face_loc"].abs().sum() > 0
    assert chosen["a2v.face_loc"].abs().sum() == 0
    with pytest.raises(CheckpointError, match="not found"):
        engine.run(job.with_changes(face_loc_weights=str(tmp_path / "missing.pth")), previews=False)


def test_preset_and_face_location_weights_are_saved_in_projects(tmp_path):
    job = Job(portrait=str(tmp_path / "a.png"), audio=str(tmp_path / "a.wav"), preset="reference",
              face_loc_weights=str(tmp_path / "face_loc.pth"))
    assert Job.load(job.save(tmp_path / "p.dawn")) == job
    assert Job(portrait="a.png", audio="a.wav").preset == "studio"
    with pytest.raises(JobError, match="Preset must be one of studio, reference"):
        Job(portrait="a.png", audio="a.wav", preset="paper")
