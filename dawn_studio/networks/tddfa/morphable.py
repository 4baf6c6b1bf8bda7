"""The 68 sparse 3D landmarks of the Basel Face Model ("BFM noneck v3") from TDDFA parameters.

Only the 68 landmark vertices are kept (what DAWN's training data used for eye ratios and
the face box); the dense mesh is available through ``dense=True`` for reproducing the unified
script's behaviour (reference bug B3).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

SHAPE_DIM = 40
EXPRESSION_DIM = 10
LANDMARKS = 68


@dataclass(frozen=True)
class MorphableModel:
    """Mean shape and bases, vertex-major.

    ``mean (V, 3)``, ``shape_basis (V, 3, 40)``, ``expr_basis (V, 3, 10)``;

    ``landmark_vertices (68,)`` indexes the 68 landmark vertices into V.
    """

    mean: torch.Tensor
    shape_basis: torch.Tensor
    expr_basis: torch.Tensor
    landmark_vertices: torch.Tensor

    @classmethod
    def from_bfm_arrays(
        cls, u: torch.Tensor, w_shp: torch.Tensor, w_exp: torch.Tensor, keypoints: torch.Tensor,
    ) -> MorphableModel:
        """From the BFM file's arrays.

        ``u (3V[, 1])`` interleaved xyz, ``w_shp``/``w_exp (3V, K)``, ``keypoints (204,)``.
        """
        u = u.reshape(-1).to(torch.float32)
        if u.numel() % 3 or w_shp.shape[0] != u.numel() or w_exp.shape[0] != u.numel():
            raise ValueError("BFM arrays disagree in length (u, w_shp and w_exp need 3 rows per vertex)")
        if w_shp.shape[1] < SHAPE_DIM or w_exp.shape[1] < EXPRESSION_DIM:
            raise ValueError(
                f"BFM needs at least {SHAPE_DIM} shape and {EXPRESSION_DIM} expression components"
            )
        flat = keypoints.reshape(-1).to(torch.long)
        if flat.numel() != 3 * LANDMARKS:
            raise ValueError(f"BFM keypoints must hold {3 * LANDMARKS} indices, found {flat.numel()}")
        vertices = u.numel() // 3
        landmark_vertices = flat[0::3] // 3
        if int(landmark_vertices.min()) < 0 or int(landmark_vertices.max()) >= vertices:
            raise ValueError("BFM keypoints point outside the mesh")
        return cls(
            mean=u.reshape(vertices, 3),
            shape_basis=w_shp[:, :SHAPE_DIM].to(torch.float32).reshape(vertices, 3, SHAPE_DIM),
            expr_basis=w_exp[:, :EXPRESSION_DIM].to(torch.float32).reshape(vertices, 3, EXPRESSION_DIM),
            landmark_vertices=landmark_vertices,
        )

    def vertices(self, params: torch.Tensor, *, dense: bool = False) -> torch.Tensor:
        """``(N, 62)`` parameters -> ``(N, V', 3)`` vertices in the 120-px crop frame (before the y flip).

        ``V' = 68`` landmarks by default, the whole mesh with ``dense=True``.
        """
        index = slice(None) if dense else self.landmark_vertices
        mean, shp, exp = self.mean[index], self.shape_basis[index], self.expr_basis[index]
        alpha_shp = params[:, 12:12 + SHAPE_DIM]
        alpha_exp = params[:, 12 + SHAPE_DIM:12 + SHAPE_DIM + EXPRESSION_DIM]
        shape = (mean[None] + torch.einsum("vck,nk->nvc", shp, alpha_shp)
                 + torch.einsum("vck,nk->nvc", exp, alpha_exp))
        camera = params[:, :12].reshape(-1, 3, 4)
        return torch.einsum("nij,nvj->nvi", camera[:, :, :3], shape) + camera[:, None, :, 3]


def to_image_coordinates(points: torch.Tensor, roi_boxes: torch.Tensor, size: int = 120) -> torch.Tensor:
    """3DDFA_V2 ``similar_transform``: crop-frame points ``(N, V, 3)`` -> image pixels via each ROI box.

    ``roi_boxes (N, 4)`` = [sx, sy, ex, ey]. z is scaled by the mean of the two scales and shifted
    so that its minimum over each face's points is 0.
    """
    sx, sy, ex, ey = (roi_boxes[:, k, None].to(points.dtype) for k in range(4))
    scale_x, scale_y = (ex - sx) / size, (ey - sy) / size
    x = (points[..., 0] - 1) * scale_x + sx
    y = (size - points[..., 1]) * scale_y + sy
    z = (points[..., 2] - 1) * (scale_x + scale_y) / 2
    z = z - z.min(dim=1, keepdim=True).values
    return torch.stack([x, y, z], dim=-1)
