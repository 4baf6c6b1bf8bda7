"""``dawn-studio render`` end to end with the tiny model set, checked with PyAV like a player would."""

import subprocess
import sys
import time

import av
import numpy as np
from PIL import Image
from support.paths import PROJECT_ROOT


def render(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", "dawn_studio", "render", *map(str, args)],
                          capture_output=True, text=True, timeout=timeout, cwd=PROJECT_ROOT)


def test_two_second_clip_end_to_end(tiny_store, speech_2s, portrait_path, tmp_path):
    out = tmp_path / "talk.mp4"
    result = render("--portrait", portrait_path, "--audio", speech_2s, "-o", out, "--models", tiny_store,
                    "--steps", 3, "--seed", 7)
    assert result.returncode == 0, result.stderr
    assert "Wrote" in result.stderr
    with av.open(str(out)) as container:
        video, audio = container.streams.video[0], container.streams.audio[0]
        assert video.codec_context.name == "h264" and audio.codec_context.name == "aac"
        assert video.average_rate == 25
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
        audio_seconds = float(audio.duration * audio.time_base)
    assert abs(len(frames) - 50) <= 1, "frame count = audio duration × 25"
    assert abs(audio_seconds - 2.0) < 0.05
    width, height = Image.open(portrait_path).size
    assert frames[0].shape[:2] == (height - height % 2, width - width % 2), "pasted back at the photo's size"
    stack = np.stack(frames).astype(np.int16)
    assert np.abs(stack[1:] - stack[:-1]).mean() > 0.05, "frames change over time"


def test_existing_output_is_not_overwritten(tiny_store, speech_2s, portrait_path, tmp_path):
    out = tmp_path / "mine.mp4"
    out.write_bytes(b"keep me")
    result = render("--portrait", portrait_path, "--audio", speech_2s, "-o", out, "--models", tiny_store)
    assert result.returncode == 5 and "already exists" in result.stderr
    assert out.read_bytes() == b"keep me"


def test_unwritable_folder_fails_before_any_work(tiny_store, speech_2s, portrait_path):
    started = time.monotonic()
    result = render("--portrait", portrait_path, "--audio", speech_2s, "-o", "/proc/talk.mp4",
                    "--models", tiny_store)
    assert result.returncode == 5 and "Cannot write into /proc" in result.stderr
    assert "Loading" not in result.stderr and time.monotonic() - started < 60


def test_missing_models_say_what_to_do(speech_2s, portrait_path, tmp_path):
    result = render("--portrait", portrait_path, "--audio", speech_2s, "-o", tmp_path / "a.mp4",
                    "--models", tmp_path / "empty-store")
    assert result.returncode == 3
    assert "dawn-studio models download" in result.stderr or "import" in result.stderr


def test_bad_arguments(tmp_path, portrait_path):
    result = render("--portrait", portrait_path, "-o", tmp_path / "a.mp4")
    assert result.returncode == 2 and "--audio" in result.stderr
    result = render("--portrait", portrait_path, "--audio", tmp_path / "nope.wav", "-o", tmp_path / "a.mp4")
    assert result.returncode == 4 and "not found" in result.stderr
    result = render("--help")
    assert result.returncode == 0
    for flag in ("--pose-strength", "--blink-strength", "--variety", "--cfg", "--full-frame", "--crop",
                 "--overwrite", "--project", "--device", "--resolution", "--steps", "--seed", "--models"):
        assert flag in result.stdout


def test_preset_and_face_location_weights_flags(tmp_path, portrait_path, speech_2s):
    from dawn_studio.cli import build_parser
    from dawn_studio.commands.render import build_job

    args = build_parser().parse_args(["render", "-p", str(portrait_path), "-a", str(speech_2s), "-o",
                                      str(tmp_path / "a.mp4"), "--preset", "reference",
                                      "--face-loc-weights", str(tmp_path / "face_loc.pth")])
    job = build_job(args)
    assert job.preset == "reference" and job.face_loc_weights == str(tmp_path / "face_loc.pth")
    assert build_job(build_parser().parse_args(["render", "-p", "a.png", "-a", "b.wav"])).preset == "studio"
    result = render("--portrait", portrait_path, "--audio", speech_2s, "-o", tmp_path / "a.mp4",
                    "--preset", "reference", "--face-loc-weights", tmp_path / "missing.pth")
    assert result.returncode == 2 and "Face-location weight file not found" in result.stderr
    result = render("--portrait", portrait_path, "--audio", speech_2s, "-o", tmp_path / "a.mp4", "--preset", "paper")
    assert result.returncode == 2 and "invalid choice" in result.stderr


def test_enhanced_clip_end_to_end(tiny_store, speech_2s, portrait_path, tmp_path):
    """--enhance 0.7 with the tiny set's enhancer: the face crop comes out at 512² (--crop shows it)."""
    out = tmp_path / "enhanced.mp4"
    result = render("--portrait", portrait_path, "--audio", speech_2s, "-o", out, "--models", tiny_store,
                    "--steps", 2, "--trim-end", 0.6, "--enhance", 0.7, "--crop")
    assert result.returncode == 0, result.stderr
    assert "Enhancing the face" in result.stderr
    with av.open(str(out)) as container:
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    assert abs(len(frames) - 15) <= 1 and frames[0].shape == (512, 512, 3)


def test_enhance_flag_values(tmp_path):
    from dawn_studio.cli import build_parser
    from dawn_studio.commands.render import build_job

    def job_of(*flags):
        return build_job(build_parser().parse_args(["render", "-p", "a.png", "-a", "b.wav", *flags]))

    assert job_of().enhance is None
    assert job_of("--enhance").enhance == 1.0, "no value: fully restored"
    assert job_of("--enhance", "0.25").enhance == 0.25
    assert job_of("--enhance", "0").enhance is None, "strength 0 is off"
    project = job_of("--enhance", "0.5").save(tmp_path / "p.dawn")
    assert job_of("--project", str(project)).enhance == 0.5
    assert job_of("--project", str(project), "--no-enhance").enhance is None


def test_enhance_without_its_weights_says_what_to_get(tiny_store, speech_2s, portrait_path, tmp_path):
    import os

    folder = tmp_path / "no-enhancer"
    folder.mkdir()
    for entry in tiny_store.iterdir():
        if entry.name != "gfpgan":
            os.symlink(entry, folder / entry.name)
    started = time.monotonic()
    result = render("--portrait", portrait_path, "--audio", speech_2s, "-o", tmp_path / "a.mp4", "--models", folder,
                    "--enhance")
    assert result.returncode == 3, result.stderr
    assert "GFPGAN v1.4" in result.stderr and "models download enhance" in result.stderr
    assert "Loading" not in result.stderr and not (tmp_path / "a.mp4").exists()
    assert time.monotonic() - started < 60
