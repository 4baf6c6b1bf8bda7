#!/usr/bin/env python3
"""The face enhancer's per-frame cost by batch size and precision, and its half-precision deviation.

Usage: python scripts/enhancer_speed.py [--device cuda] [--frames 100] [--json FILE]

Networks at their published widths with random weights (timing does not depend on the values; the
deviation of float16 from float32 is measured on these weights, so it says how the arithmetic behaves,
not how the published weights' faces look). The enhancer runs through the stage exactly as the engine
runs it (warp, batched restore, paste at 512²) on face-crop-sized alignments, for several batch sizes
and both precisions: it is how the engine's batch size was chosen. The enhancer beside the other stages,
as a job runs them, is `dawn-studio bench --enhance`.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dawn_studio.networks import gfpgan  # noqa: E402
from dawn_studio.stages.enhance import (  # noqa: E402
    FFHQ_TEMPLATE_512,
    alignment_transforms,
    enhance_frames,
    warp_face,
)


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def clip(frames: int, size: int, seed: int = 0) -> np.ndarray:
    """Smooth random colour fields, one per frame (the restorer's cost does not depend on them)."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (frames, 8, 8, 3), dtype=np.uint8)
    import cv2

    return np.stack([cv2.resize(f, (size, size), interpolation=cv2.INTER_CUBIC) for f in small])


def face_transforms(frames: int, size: int) -> np.ndarray:
    points = FFHQ_TEMPLATE_512 * (0.23 * size / 512) + np.array([0.27, 0.16]) * size
    return np.repeat(alignment_transforms(points[None].astype(np.float32)), frames, axis=0)


def time_enhancer(net: torch.nn.Module, dtype: torch.dtype, frames: np.ndarray, batch: int,
                  device: torch.device) -> tuple[float, float, np.ndarray]:
    """(seconds per frame through the stage, seconds per frame of the network alone, the frames)."""
    transforms = face_transforms(len(frames), frames.shape[1])

    def restorer(x: torch.Tensor) -> torch.Tensor:
        with torch.autocast(device.type, dtype=dtype, enabled=dtype != torch.float32):
            return net(x.to(device))

    with torch.inference_mode():
        enhance_frames(frames[:batch], transforms[:batch], restorer, batch_size=batch)  # warm-up
        sync(device)
        started = time.perf_counter()
        out = enhance_frames(frames, transforms, restorer, batch_size=batch, device=device)
        sync(device)
        stage = (time.perf_counter() - started) / len(frames)
        faces = torch.from_numpy(np.stack([warp_face(frames[i], transforms[i]) for i in range(batch)]))
        x = (faces.permute(0, 3, 1, 2).float() / 127.5 - 1).to(device)
        restorer(x)
        sync(device)
        started = time.perf_counter()
        repeats = max(1, len(frames) // batch)
        for _ in range(repeats):
            restorer(x)
        sync(device)
        network = (time.perf_counter() - started) / (repeats * batch)
    return stage, network, out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--frames", type=int, default=100)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    device = torch.device(args.device)
    report: dict = {"date": time.strftime("%Y-%m-%d"), "device": torch.cuda.get_device_name(device)
                    if device.type == "cuda" else "cpu", "torch": torch.__version__, "frames": args.frames}
    torch.manual_seed(0)
    net32 = gfpgan.GFPGANv1Clean.from_config(gfpgan.GFPGAN_V1_4).eval().to(device)
    for size in (128, 256):
        frames = clip(args.frames, size)
        rows = {}
        outputs = {}
        for dtype, net, batch in ((torch.float16, net32, 1), (torch.float16, net32, 4), (torch.float16, net32, 8),
                                  (torch.float16, net32, 16), (torch.float32, net32, 8)):
            stage, network, out = time_enhancer(net, dtype, frames, batch, device)
            name = f"{str(dtype).replace('torch.', '')}_batch{batch}"
            rows[name] = {"stage_ms_per_frame": stage * 1000, "network_ms_per_frame": network * 1000}
            outputs[name] = out
            print(size, name, rows[name], flush=True)
        difference = np.abs(outputs["float16_batch8"].astype(np.int16) - outputs["float32_batch8"].astype(np.int16))
        rows["float16_vs_float32_frames"] = {"max_abs_levels": int(difference.max()),
                                             "mean_abs_levels": float(difference.mean()),
                                             "share_over_2_levels": float((difference > 2).mean())}
        print(size, rows["float16_vs_float32_frames"], flush=True)
        report[f"crop_{size}"] = rows
    if device.type == "cuda":
        report["enhancer_peak_memory_bytes"] = int(torch.cuda.max_memory_allocated(device))
    print(json.dumps(report, indent=1))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
