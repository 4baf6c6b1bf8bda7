"""GFPGANv1Clean against the reference: every fixture of kind ``gfpgan_restore``, and the key manifest.

The network is built from each fixture's constructor settings and given the fill-rule weights of its
sections, so fixtures of other sizes or widths run without code changes.
"""

from __future__ import annotations

import pytest
import torch
from support.conformance import (
    assert_entry,
    assert_matches_manifest,
    constructed_names,
    fill_module,
    fixture_params,
    inputs_of,
    load_fixture,
)

from dawn_studio.networks.gfpgan import GFPGANConfig, GFPGANv1Clean

MANIFEST = "manifest.gfpgan.json"
PUBLISHED_SECTION = "gfpgan.v1_clean_512"
SECTION_PREFIX = "gfpgan."


def filled_network(config: GFPGANConfig, constructed: list[str]) -> GFPGANv1Clean:
    """The network with fill-rule weights. Built on the meta device when the rule sets every entry,
    which skips the random initialisation the fill would overwrite (seconds at full size)."""
    if constructed:
        net = GFPGANv1Clean.from_config(config)
    else:
        with torch.device("meta"):
            net = GFPGANv1Clean.from_config(config)
        net = net.to_empty(device="cpu")
    filled = fill_module(net, constructed)
    assert len(filled) + len(constructed) == len(net.state_dict())
    return net.eval()


@pytest.mark.slow
@pytest.mark.parametrize("path", fixture_params("gfpgan_restore"))
def test_gfpgan_restore_matches_reference(path):
    fixture = load_fixture(path)
    sections = fixture["sections"]
    assert len(sections) == 1 and sections[0].startswith(SECTION_PREFIX), f"unexpected weight sections {sections}"
    config = GFPGANConfig.from_reference(fixture["config"])
    net = filled_network(config, constructed_names(fixture, sections[0]))

    with torch.inference_mode():
        image, previews = net.forward_with_rgb(inputs_of(fixture)["x"])
    actual = {"image": image, **{f"rgb_{i}": rgb for i, rgb in enumerate(previews)}}
    unknown = sorted(set(fixture["expected"]) - set(actual))
    assert not unknown, f"expected entries this test does not produce: {unknown}"
    for entry in fixture["expected"]:
        assert_entry(fixture, entry, actual[entry])


def test_published_network_matches_manifest_key_for_key():
    with torch.device("meta"):
        net = GFPGANv1Clean()  # the defaults are the published v1.3 / v1.4 network
    assert_matches_manifest(net, MANIFEST, PUBLISHED_SECTION)
    noise = [k for k in net.state_dict() if k.startswith("stylegan_decoder.noises.")]
    assert noise == [f"stylegan_decoder.noises.noise{i}" for i in range(15)]
