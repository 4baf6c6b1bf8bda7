"""Eye-openness ratios and the face box from the 68 facial landmarks (DAWN's ``calculate_eye/bbox``).

Indices are those of the 68-point (iBUG) layout: subject's left eye 42-47, right eye 36-41.
Each ratio is one lid distance over the corner distance, in 3-D (x, y, z) like the reference when
the landmarks come from the BFM, in 2-D for the landmark head's estimate (see ``analysis.py``).
"""

from __future__ import annotations

import torch

# (upper lid, lower lid, corner, corner) in the 68-point layout.
LEFT_EYE: tuple[int, int, int, int] = (43, 47, 45, 42)
RIGHT_EYE: tuple[int, int, int, int] = (37, 41, 39, 36)
FALLBACK_EYE_RATIO = 0.3


def eye_ratios(points: torch.Tensor) -> torch.Tensor:
    """``(N, P, 3 or 2)`` landmarks (P >= 48) -> ``(N, 2)`` float64 ``[left, right]`` lid/corner ratios."""
    def ratio(eye: tuple[int, int, int, int]) -> torch.Tensor:
        upper, lower, corner_a, corner_b = (points[:, k] for k in eye)
        return (upper - lower).norm(dim=-1) / (corner_a - corner_b).norm(dim=-1)

    return torch.stack([ratio(LEFT_EYE), ratio(RIGHT_EYE)], dim=1).to(torch.float64)

