"""Exported files are complete, in sync, never half-written and never overwrite by accident."""

import errno
import os

import av
import numpy as np
import pytest
from PIL import Image

from dawn_studio.progress import Cancelled, CancelToken
from dawn_studio.stages import export as export_stage
from dawn_studio.stages.export import ExportError, ExportSettings, audio_for_frames, export_video

SR = 16000


def gradient_frames(count, height=121, width=97):
    for i in range(count):
        frame = np.zeros((height, width, 3), np.uint8)
        frame[..., 0] = (i * 5) % 256
        frame[..., 1] = np.linspace(0, 255, width, dtype=np.uint8)[None, :]
        yield frame


def tone(seconds):
    t = np.arange(int(seconds * SR)) / SR
    return (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)


def probe(path):
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        audio = container.streams.audio[0] if container.streams.audio else None
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
        info = {
            "vcodec": video.codec_context.name, "fps": video.average_rate, "frames": len(frames),
            "size": (video.width, video.height), "pix_fmt": video.codec_context.pix_fmt,
            "acodec": audio.codec_context.name if audio else None,
        }
        if audio is not None:
            # The stream's own duration honours the encoder delay/padding (edit list), as players do.
            seconds = float(audio.duration * audio.time_base) if audio.duration else container.duration / 1e6
            info["audio_seconds"] = seconds
    return info, frames


@pytest.mark.parametrize("fmt,vcodec,acodec", [("mp4", "h264", "aac"), ("webm", "vp9", "opus")])
def test_video_formats_have_all_frames_and_synced_audio(tmp_path, fmt, vcodec, acodec):
    steps = []
    out = export_video(gradient_frames(50), 50, tmp_path / f"clip.{fmt}", audio=tone(2.3), sample_rate=SR,
                       settings=ExportSettings(format=fmt), progress=lambda d, t: steps.append((d, t)))
    info, frames = probe(out)
    assert info["vcodec"] == vcodec and info["acodec"] == acodec
    assert info["fps"] == 25 and info["frames"] == 50
    assert info["size"] == (96, 120), "odd sides are rounded down to even"
    assert info["pix_fmt"] == "yuv420p"
    assert abs(info["audio_seconds"] - 2.0) < 0.03, "audio is cut to the video's length"
    assert steps[-1] == (50, 50)
    assert abs(int(frames[0][..., 0].mean()) - 0) < 6 and abs(int(frames[40][..., 0].mean()) - 200) < 8


def test_short_audio_is_padded_not_truncating_video():
    padded = audio_for_frames(tone(0.5), SR, 25)
    assert padded.shape == (SR,)
    assert np.all(padded[SR // 2 + 1:] == 0)


def test_gif_and_png_frames(tmp_path):
    gif = export_video(gradient_frames(10), 10, tmp_path / "clip.gif", settings=ExportSettings(format="gif"))
    with Image.open(gif) as image:
        assert image.n_frames == 10 and image.info["duration"] == 40
    folder = export_video(gradient_frames(10), 10, tmp_path / "frames", audio=tone(1.0), sample_rate=SR,
                          settings=ExportSettings(format="png"))
    names = sorted(os.listdir(folder))
    assert names[0] == "audio.wav" and names[1] == "frame_00000.png" and len(names) == 11
    first = np.asarray(Image.open(folder / "frame_00003.png"))
    assert first.shape == (121, 97, 3), "PNG frames keep the exact size"
    assert first[0, 0, 0] == 15


def test_gif_size_and_frame_rate_make_it_smaller_and_the_estimate_holds(tmp_path, photo_frames):
    frames, height, width = photo_frames
    full = export_video(iter(frames), len(frames), tmp_path / "full.gif", settings=ExportSettings(format="gif"))
    small_settings = ExportSettings(format="gif", gif_max_side=160, gif_frame_step=2)
    small = export_video(iter(frames), len(frames), tmp_path / "small.gif", settings=small_settings)
    with Image.open(small) as image:
        assert image.n_frames == 10 and image.info["duration"] == 80, "12.5 fps: every other frame, 80 ms each"
        assert max(image.size) == 160 and abs(image.size[0] / image.size[1] - width / height) < 0.02
    assert small.stat().st_size < full.stat().st_size / 4
    for path, settings in ((full, ExportSettings(format="gif")), (small, small_settings)):
        estimate = export_stage.estimate_gif_bytes(width, height, len(frames), settings)
        assert 0.6 < path.stat().st_size / estimate < 1.4, (path.name, path.stat().st_size, estimate)
    with pytest.raises(ValueError, match="frame step"):
        ExportSettings(format="gif", gif_frame_step=4)


@pytest.fixture
def photo_frames():
    """20 frames of a real portrait with a little noise, like generated frames."""
    from support.paths import sample_portrait

    photo = np.asarray(Image.open(sample_portrait("real_male1.jpeg")).convert("RGB"))
    rng = np.random.default_rng(0)
    frames = [np.clip(photo.astype(np.int16) + rng.integers(-2, 3, photo.shape), 0, 255).astype(np.uint8)
              for _ in range(20)]
    return frames, photo.shape[0], photo.shape[1]


def test_existing_file_is_never_overwritten_unless_asked(tmp_path):
    target = tmp_path / "mine.mp4"
    target.write_bytes(b"precious")
    with pytest.raises(ExportError, match="already exists"):
        export_video(gradient_frames(5), 5, target)
    assert target.read_bytes() == b"precious"
    export_video(gradient_frames(5), 5, target, settings=ExportSettings(overwrite=True))
    assert probe(target)[0]["frames"] == 5
    assert [p.name for p in tmp_path.iterdir()] == ["mine.mp4"], "no temporary files left"


def test_cancel_leaves_nothing_behind(tmp_path):
    token = CancelToken()

    def frames():
        for i, frame in enumerate(gradient_frames(30)):
            if i == 12:
                token.cancel()
            yield frame

    with pytest.raises(Cancelled):
        export_video(frames(), 30, tmp_path / "clip.mp4", audio=tone(1.2), cancel=token)
    assert list(tmp_path.iterdir()) == []


def test_missing_frames_are_an_error_not_a_short_file(tmp_path):
    with pytest.raises(ExportError, match="Expected 20 frames but received 8"):
        export_video(gradient_frames(8), 20, tmp_path / "clip.mp4")
    assert list(tmp_path.iterdir()) == []


def test_unwritable_or_missing_folder_fails_before_any_work(tmp_path):
    with pytest.raises(ExportError, match="does not exist"):
        export_video(gradient_frames(2), 2, tmp_path / "nope" / "clip.mp4")
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    # root may write into a 0o500 folder; /proc refuses new files to everyone
    folder = locked if not os.access(locked, os.W_OK) else "/proc"
    try:
        with pytest.raises(ExportError, match="Cannot write into"):
            export_video(gradient_frames(2), 2, f"{folder}/clip.mp4")
    finally:
        locked.chmod(0o700)


def test_disk_full_is_reported_in_words(tmp_path, monkeypatch):
    def full(*_args, **_kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(export_stage.os, "replace", full)
    with pytest.raises(ExportError, match="disk is full"):
        export_video(gradient_frames(3), 3, tmp_path / "clip.mp4")
    assert list(tmp_path.iterdir()) == []
