"""Pipeline presets: the studio's fixes of the reference's behaviours, or the reference itself.

The published pipeline (``unified_video_generator.py``) has behaviours the studio corrects by
default (the B-numbers of the spec's bug list, ``pipeline.md`` §5). The ``reference`` preset
switches all of them back together, so a job reproduces the published pipeline's output:

* B3 dense landmarks: eye ratios from dense-mesh vertices 36-47 and the face box over the whole
  mesh (studio: the 68 sparse landmarks the model was trained with);
* B4 several faces: pose from the last detected face, eyes and box from the first (studio: all
  from the chosen face);
* B5 200-frame cap: PBNet sees every frame of the speech, at most 200 frames are rendered
  (studio: every frame is rendered);
* B6 box axes: the face mask divides x by the image's height and y by its width (studio: x by
  width, y by height; identical for square photos);
* B9 squash framing: the whole photo resized to a square, aspect ratio not kept (studio: the
  job's framing, a square around the face by default);
* B10 audio: channel 0 only, FFmpeg's default resampler, 16-bit samples (studio: all channels
  mixed, a longer resampling filter, float samples).

Both presets use the shipped seed-1234 face-location weights (B1: the reference draws new
random ones on every start, which cannot be reproduced); a job may name another weight file.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ..networks.a2v.config import BBoxAxes
from ..stages.audio import REFERENCE_DECODING, STUDIO_DECODING, DecodeOptions
from ..stages.portrait import Framing

Preset = Literal["studio", "reference"]
PRESETS: tuple[str, ...] = ("studio", "reference")
#: Frames the published pipeline renders at most (``max_n_frames`` of its config, B5).
REFERENCE_MAX_FRAMES = 200


@dataclass(frozen=True)
class PipelineBehaviour:
    """The choices a preset makes for every stage of a job."""

    dense_landmarks: bool
    reference_face_choice: bool
    max_rendered_frames: int | None
    bbox_axes: BBoxAxes
    framing: Framing | None  # None: the job's own framing
    decoding: DecodeOptions

    def framing_for(self, job_framing: Framing) -> Framing:
        return self.framing if self.framing is not None else job_framing

    def rendered_frames(self, frames: int) -> int:
        """How many of the speech's ``frames`` become video frames."""
        return frames if self.max_rendered_frames is None else min(frames, self.max_rendered_frames)


STUDIO = PipelineBehaviour(dense_landmarks=False, reference_face_choice=False, max_rendered_frames=None,
                           bbox_axes="fixed", framing=None, decoding=STUDIO_DECODING)
REFERENCE = PipelineBehaviour(dense_landmarks=True, reference_face_choice=True,
                              max_rendered_frames=REFERENCE_MAX_FRAMES, bbox_axes="reference",
                              framing="reference", decoding=REFERENCE_DECODING)
BEHAVIOURS: dict[str, PipelineBehaviour] = {"studio": STUDIO, "reference": REFERENCE}


def behaviour(preset: str) -> PipelineBehaviour:
    """What ``preset`` ('studio' or 'reference') means; ValueError for another name."""
    if preset not in BEHAVIOURS:
        raise ValueError(f"Preset must be one of {', '.join(PRESETS)}, got {preset!r}")
    return BEHAVIOURS[preset]
