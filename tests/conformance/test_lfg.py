"""LFG against the reference: every fixture of kind ``lfg`` in the conformance directory.

Each fixture names its weight sections (filled by the rule) and the reference's settings; the
networks are built from those settings, so fixtures of other sizes, batches or widths run too.
SVD factors (``u``, ``affine``) are compared modulo column signs, as the fixture index says.
"""

from __future__ import annotations

import pytest
import torch
from support.conformance import (
    assert_entry,
    constructed_names,
    fill_module,
    fixture_params,
    inputs_of,
    load_fixture,
    tolerance_for,
)

from dawn_studio.loading.lfg import config_for_reference
from dawn_studio.networks.lfg import LatentFlowGenerator, RegionParams

SECTION_PREFIX = "lfg."
SIGN_AMBIGUOUS = {"u", "affine"}


def column_sign_canonical(matrices: torch.Tensor) -> torch.Tensor:
    """Each column multiplied by the sign of its first entry (SVD columns are defined up to sign)."""
    signs = torch.sign(matrices[..., 0:1, :])
    return matrices * torch.where(signs == 0, torch.ones_like(signs), signs)


def region_entries(prefix: str, params: RegionParams) -> dict[str, torch.Tensor]:
    values = {
        "shift": params.shift,
        "covar": params.covar,
        "heatmap": params.heatmap,
        "affine": params.affine,
        "u": params.u,
        "d": params.d,
    }
    return {f"{prefix}.{name}": value for name, value in values.items() if value is not None}


def lfg_outputs(
    model: LatentFlowGenerator, inputs: dict
) -> tuple[dict[str, torch.Tensor], RegionParams, RegionParams]:
    """Every quantity the fixtures record, computed in the reference's call order."""
    source, driving = inputs["source_image"], inputs["driving_image"]
    with torch.no_grad():
        rs = model.region_predictor(source)
        rd = model.region_predictor(driving)
        bg = model.bg_predictor(source, driving)
        gen = model.generator(source, driving_region_params=rd, source_region_params=rs, bg_params=bg)
        fea = model.generator.compute_fea(source)
        actual = {
            **region_entries("source_region_params", rs),
            **region_entries("driving_region_params", rd),
            "bg_params": bg,
            **{f"generator.{name}": value for name, value in gen.items()},
            "compute_fea": fea,
        }
        if "optical_flow" in inputs:
            fwf = model.generator.forward_with_flow(
                source, inputs["optical_flow"], inputs.get("occlusion_map")
            )
            actual.update({f"forward_with_flow.{name}": value for name, value in fwf.items()})
    return actual, rs, rd


@pytest.mark.parametrize("path", fixture_params("lfg"))
def test_lfg_matches_reference(path):
    fixture = load_fixture(path)
    inputs = inputs_of(fixture)
    config = fixture["config"]
    image_size = int(config.get("image_size", inputs["source_image"].shape[-1]))
    model = LatentFlowGenerator(config_for_reference(config, image_size))
    for section in fixture["sections"]:
        assert section.startswith(SECTION_PREFIX), f"unexpected weight section {section}"
        fill_module(getattr(model, section.removeprefix(SECTION_PREFIX)), constructed_names(fixture, section))
    model.eval()

    actual, rs, rd = lfg_outputs(model, inputs)
    unknown = sorted(set(fixture["expected"]) - set(actual))
    assert not unknown, f"expected entries this test does not produce: {unknown}"
    for entry in fixture["expected"]:
        value = actual[entry]
        if entry.rsplit(".", 1)[-1] in SIGN_AMBIGUOUS:
            expected = fixture["expected"][entry]
            torch.testing.assert_close(
                column_sign_canonical(value),
                column_sign_canonical(expected),
                **tolerance_for(fixture, entry),
                msg=lambda m, e=entry: f"{e} (modulo column signs): {m}",
            )
        else:
            assert_entry(fixture, entry, value)
    # The generator depends on the SVD signs only through det(u) agreeing between the images.
    if rs.u is not None and rd.u is not None:
        assert torch.all(torch.linalg.det(rs.u) * torch.linalg.det(rd.u) > 0)
