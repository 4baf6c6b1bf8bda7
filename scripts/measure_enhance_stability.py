#!/usr/bin/env python3
"""Temporal stability of the face enhancement: alignment jitter and frame-to-frame change of the face.

Usage: .venv/bin/python scripts/measure_enhance_stability.py --models DIR [--portrait IMAGE] [--audio AUDIO]
       [--resolution 128] [--seconds 4] [--device auto] [--enhancer folder|published-random] [--json FILE]

Two clips of the portrait's face crop are measured:

* ``generated``: the clip the engine generates from the model folder (with the tiny random-weight set
  the face barely moves and the pixels are noise-driven; with the real DAWN weights it is a talking head);
* ``moved``: the portrait's own face crop moved along a known smooth path (sway, nod-like shift and a
  few degrees of roll), so the true motion has no jitter and everything measured beyond it is the
  pipeline's.

For each: the 5 alignment points (the template mapped back into the frame by each frame's transform)
frame to frame, with the raw per-frame transforms and with the smoothed ones: ``step`` is their mean
displacement between consecutive frames, ``jerk`` the mean second difference (what is left of it once
smooth motion is taken out: the shimmer). Then the face region's mean absolute change between
consecutive frames (8-bit levels, inside the full-strength mask of both frames of a pair) for the clip
upscaled to 512² without enhancement, enhanced with raw transforms, and enhanced with smoothed ones.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
sys.path.insert(0, str(ROOT))

from dawn_studio.device import resolve_device  # noqa: E402
from dawn_studio.engine.engine import ENHANCE_BATCH, Engine  # noqa: E402
from dawn_studio.engine.job import Job  # noqa: E402
from dawn_studio.engine.models import ENHANCER_DTYPES, autocast  # noqa: E402
from dawn_studio.stages.enhance import (  # noqa: E402
    ENHANCED_SIZE,
    FFHQ_TEMPLATE_512,
    alignment_transforms,
    box_in_frame,
    enhance_frames,
    face_mask,
    five_points,
    paste_transform,
    smooth_transforms,
    track_landmarks,
    upscale,
)
from dawn_studio.stages.portrait import crop_image  # noqa: E402


def moved_clip(still: np.ndarray, frames: int) -> np.ndarray:
    """The still face crop moved along a smooth path (units scaled to the crop's side)."""
    size = still.shape[0]
    unit = size / 128
    out = []
    for t in range(frames):
        angle = 3.0 * math.sin(2 * math.pi * t / 50)
        dx, dy = 4.0 * unit * math.sin(2 * math.pi * t / 75), 2.0 * unit * math.sin(2 * math.pi * t / 60)
        matrix = cv2.getRotationMatrix2D((size / 2, size / 2), angle, 1.0)
        matrix[:, 2] += (dx, dy)
        out.append(cv2.warpAffine(still, matrix, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT))
    return np.stack(out)


def point_motion(points: np.ndarray) -> dict[str, float]:
    """Mean frame-to-frame displacement and second difference (px) of (T, P, 2) points."""
    return {"step_px": float(np.linalg.norm(np.diff(points, axis=0), axis=-1).mean()),
            "jerk_px": float(np.linalg.norm(np.diff(points, 2, axis=0), axis=-1).mean())}


def back_in_frame(transforms: np.ndarray) -> np.ndarray:
    """The template's 5 points mapped into each frame by the inverse of its transform."""
    return np.stack([cv2.transform(FFHQ_TEMPLATE_512[None].astype(np.float64), cv2.invertAffineTransform(t))[0]
                     for t in transforms])


def region_change(frames: np.ndarray, masks: np.ndarray) -> float:
    """Mean absolute change (8-bit levels) between consecutive frames, over the pixels inside the face
    mask of both frames of each pair."""
    total, count = 0.0, 0
    for t in range(len(frames) - 1):
        both = masks[t] & masks[t + 1]
        diff = np.abs(frames[t + 1].astype(np.int16) - frames[t].astype(np.int16))[both]
        total, count = total + float(diff.sum()), count + diff.size
    return total / max(1, count)


def measure(name: str, frames: np.ndarray, start_box: np.ndarray, engine: Engine, device: torch.device,
            restorer, batch: int) -> dict:
    size = frames.shape[1]
    landmarks = track_landmarks(engine.models.portrait(device), frames, start_box)
    points = five_points(landmarks)
    raw = alignment_transforms(points)
    smooth = smooth_transforms(raw)
    masks = np.stack([face_mask(paste_transform(t, size, ENHANCED_SIZE), ENHANCED_SIZE) == 1 for t in smooth])
    started = time.perf_counter()
    enhanced_smooth = enhance_frames(frames, smooth, restorer, batch_size=batch, device=device)
    seconds = time.perf_counter() - started
    enhanced_raw = enhance_frames(frames, raw, restorer, batch_size=batch, device=device)
    plain = np.stack([upscale(f, ENHANCED_SIZE) for f in frames])
    result = {
        "frames": int(frames.shape[0]), "frame_size": int(size),
        "landmarks_5": point_motion(points),
        "alignment_raw": point_motion(back_in_frame(raw)),
        "alignment_smoothed": point_motion(back_in_frame(smooth)),
        "face_region_share": float(masks.mean()),
        "change_without_enhancer": region_change(plain, masks),
        "change_enhanced_raw_transforms": region_change(enhanced_raw, masks),
        "change_enhanced_smoothed": region_change(enhanced_smooth, masks),
        "enhance_seconds_per_frame": seconds / frames.shape[0],
    }
    print(f"{name}: {json.dumps(result, indent=1)}", flush=True)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", type=Path, required=True, help="model folder (real or tiny set)")
    parser.add_argument("--portrait", type=Path, default=SHARED / "samples" / "real_female_1.jpeg")
    parser.add_argument("--audio", type=Path, default=SHARED / "samples" / "WRA_MarcoRubio_000.wav")
    parser.add_argument("--resolution", type=int, choices=(128, 256), default=128)
    parser.add_argument("--seconds", type=float, default=4.0, help="length of the clips (default 4 s = 100 frames)")
    parser.add_argument("--steps", type=int, default=8, help="diffusion steps of the generated clip")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--enhancer", choices=("folder", "published-random"), default="folder",
                        help="the folder's enhancer weights, or the published width with random weights")
    parser.add_argument("--clips", default="generated,moved", help="which clips to measure (default both)")
    parser.add_argument("--json", type=Path, help="also write the numbers here")
    args = parser.parse_args()

    compute = resolve_device(args.device)
    device = torch.device(compute.torch_device)
    dtype = ENHANCER_DTYPES.get(compute.kind, torch.float32)
    engine = Engine(args.models)
    if args.enhancer == "folder":
        net = engine.models.enhancer(device, torch.float32)
    else:
        from dawn_studio.networks import gfpgan

        torch.manual_seed(0)
        net = gfpgan.GFPGANv1Clean.from_config(gfpgan.GFPGAN_V1_4).eval().to(device)

    def restorer(x: torch.Tensor) -> torch.Tensor:
        with autocast(device, dtype):
            return net(x.to(device))

    batch = ENHANCE_BATCH.get(compute.kind, 2)
    job = Job(portrait=str(args.portrait), audio=str(args.audio), resolution=args.resolution, steps=args.steps,
              trim_end=args.seconds, device=args.device)
    with torch.inference_mode():
        generated = engine.run(job, previews=False)
    face = generated.face
    start = box_in_frame(face.box, face.crop.box, args.resolution)
    still = crop_image(generated.portrait.rgb, face.crop)
    report = {
        "date": time.strftime("%Y-%m-%d"), "device": compute.label, "enhancer": args.enhancer,
        "enhancer_dtype": str(dtype).replace("torch.", ""), "resolution": args.resolution,
        "portrait": args.portrait.name, "models": str(args.models),
    }
    clips = args.clips.split(",")
    with torch.inference_mode():
        if "generated" in clips:
            report["generated"] = measure("generated", generated.frames, start, engine, device, restorer, batch)
        if "moved" in clips:
            report["moved"] = measure("moved", moved_clip(still, generated.num_frames), start, engine, device,
                                      restorer, batch)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
