"""Construction settings of the latent flow generator (LFG): published builds and a tiny test build.

The released ``hdtf128.yaml`` and ``hdtf256.yaml`` have identical ``model_params``; the 128 and 256
models differ only in their weights and in the image side they run at. Every width the reference
reads from its YAML is a field here, so the same code builds the reduced-width test models.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any, Literal

BackgroundType = Literal["zero", "shift", "affine", "perspective"]

#: Outputs of the background ``fc`` layer and its identity initialisation per background type.
BACKGROUND_PARAMS: dict[str, tuple[float, ...]] = {
    "zero": (),
    "shift": (0.0, 0.0),
    "affine": (1.0, 0.0, 0.0, 0.0, 1.0, 0.0),
    "perspective": (1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0),
}


class LFGConfigError(ValueError):
    """The settings describe an LFG that cannot be built; the message names the setting."""


def _require_positive(owner: str, **values: float) -> None:
    for name, value in values.items():
        if value <= 0:
            raise LFGConfigError(f"{owner}.{name} must be positive, got {value}")


def _require_scale(owner: str, scale: float) -> None:
    if not 0 < scale <= 1 or abs(1 / scale - round(1 / scale)) > 1e-9:
        raise LFGConfigError(f"{owner}.scale_factor must be 1/n for a whole n, got {scale}")


@dataclass(frozen=True)
class RegionPredictorConfig:
    """``region_predictor_params``: hourglass widths, softmax temperature, down-scaling."""

    block_expansion: int = 32
    max_features: int = 1024
    num_blocks: int = 5
    temperature: float = 0.1
    scale_factor: float = 0.25
    pad: int = 3

    def __post_init__(self) -> None:
        _require_positive(
            "region_predictor",
            block_expansion=self.block_expansion,
            max_features=self.max_features,
            num_blocks=self.num_blocks,
            temperature=self.temperature,
        )
        _require_scale("region_predictor", self.scale_factor)


@dataclass(frozen=True)
class BackgroundPredictorConfig:
    """``bg_predictor_params``: encoder widths and the kind of global background motion."""

    block_expansion: int = 32
    max_features: int = 1024
    num_blocks: int = 5
    bg_type: BackgroundType = "affine"

    def __post_init__(self) -> None:
        _require_positive(
            "bg_predictor",
            block_expansion=self.block_expansion,
            max_features=self.max_features,
            num_blocks=self.num_blocks,
        )
        if self.bg_type not in BACKGROUND_PARAMS:
            raise LFGConfigError(
                f"bg_predictor.bg_type must be one of {sorted(BACKGROUND_PARAMS)}, not {self.bg_type!r}"
            )


@dataclass(frozen=True)
class FlowPredictorConfig:
    """``pixelwise_flow_predictor_params``: hourglass widths and which inputs/outputs it has."""

    block_expansion: int = 64
    max_features: int = 1024
    num_blocks: int = 5
    scale_factor: float = 0.25
    use_deformed_source: bool = True
    use_covar_heatmap: bool = True
    estimate_occlusion_map: bool = True
    region_var: float = 0.01

    def __post_init__(self) -> None:
        _require_positive(
            "pixelwise_flow_predictor",
            block_expansion=self.block_expansion,
            max_features=self.max_features,
            num_blocks=self.num_blocks,
            region_var=self.region_var,
        )
        _require_scale("pixelwise_flow_predictor", self.scale_factor)


@dataclass(frozen=True)
class GeneratorConfig:
    """``generator_params``: the source encoder / warped decoder and its flow predictor."""

    block_expansion: int = 64
    max_features: int = 512
    num_down_blocks: int = 2
    num_bottleneck_blocks: int = 6
    skips: bool = True
    flow_predictor: FlowPredictorConfig = field(default_factory=FlowPredictorConfig)

    def __post_init__(self) -> None:
        _require_positive(
            "generator",
            block_expansion=self.block_expansion,
            max_features=self.max_features,
            num_down_blocks=self.num_down_blocks,
        )
        if self.num_bottleneck_blocks < 0:
            raise LFGConfigError("generator.num_bottleneck_blocks must not be negative")

    @property
    def feature_channels(self) -> int:
        """Channels of :meth:`Generator.compute_fea` (256 in the published models)."""
        return min(self.max_features, self.block_expansion * 2**self.num_down_blocks)


@dataclass(frozen=True)
class LFGConfig:
    """Everything needed to build the three LFG networks, plus the image side they run at."""

    image_size: int = 128
    num_regions: int = 10
    num_channels: int = 3
    estimate_affine: bool = True
    revert_axis_swap: bool = True
    region_predictor: RegionPredictorConfig = field(default_factory=RegionPredictorConfig)
    bg_predictor: BackgroundPredictorConfig = field(default_factory=BackgroundPredictorConfig)
    generator: GeneratorConfig = field(default_factory=GeneratorConfig)

    def __post_init__(self) -> None:
        _require_positive(
            "lfg",
            image_size=self.image_size,
            num_regions=self.num_regions,
            num_channels=self.num_channels,
        )
        sides = {
            "generator (2^num_down_blocks)": 2**self.generator.num_down_blocks,
            "region predictor hourglass": _hourglass_multiple(
                self.region_predictor.scale_factor, self.region_predictor.num_blocks
            ),
            "flow predictor hourglass": _hourglass_multiple(
                self.generator.flow_predictor.scale_factor, self.generator.flow_predictor.num_blocks
            ),
        }
        for what, multiple in sides.items():
            if self.image_size % multiple:
                raise LFGConfigError(
                    f"image_size {self.image_size} is not a multiple of {multiple}, needed by the {what}"
                )

    @property
    def latent_size(self) -> int:
        """Side of the flow grid / occlusion map and of the image features (image_size / 4 when released)."""
        return self.image_size // 2**self.generator.num_down_blocks

    def with_image_size(self, image_size: int) -> LFGConfig:
        return replace(self, image_size=image_size)


def _hourglass_multiple(scale_factor: float, num_blocks: int) -> int:
    return round(1 / scale_factor) * 2**num_blocks


LFG_128 = LFGConfig(image_size=128)
LFG_256 = LFGConfig(image_size=256)

# The real architecture at small widths, for fast end-to-end tests with random weights. Its
# features (32 channels at 16×16 for a 64-pixel portrait) match the tiny A2V build.
TINY = LFGConfig(
    image_size=64,
    num_regions=3,
    region_predictor=RegionPredictorConfig(block_expansion=4, max_features=16, num_blocks=3),
    bg_predictor=BackgroundPredictorConfig(block_expansion=4, max_features=16, num_blocks=3),
    generator=GeneratorConfig(
        block_expansion=8,
        max_features=32,
        num_bottleneck_blocks=2,
        flow_predictor=FlowPredictorConfig(block_expansion=4, max_features=16, num_blocks=3),
    ),
)

PRESETS: dict[str, LFGConfig] = {"LFG_128": LFG_128, "LFG_256": LFG_256, "TINY": TINY}


# ---- the reference's YAML ``model_params`` -----------------------------------------------
# Settings of the reference that do not change the LFG networks built here.
_IGNORED_TOP = {"avd_network_params"}
_IGNORED_REGION = {"fast_svd"}  # another SVD routine for the same decomposition


def _section(owner: str, values: Any, target: type, ignored: Collection[str] = (), **extra: Any) -> Any:
    if not isinstance(values, Mapping):
        raise LFGConfigError(f"{owner} must be a mapping of settings, not {type(values).__name__}")
    known = {f.name for f in fields(target)} - set(extra)
    unknown = sorted(set(values) - known - set(ignored))
    if unknown:
        raise LFGConfigError(f"{owner} has settings this port does not know: {', '.join(unknown)}")
    return target(**{k: v for k, v in values.items() if k in known}, **extra)


def config_from_model_params(model_params: Mapping[str, Any], image_size: int) -> LFGConfig:
    """The :class:`LFGConfig` of a reference ``model_params`` mapping (``config/hdtf*.yaml``).

    Unknown settings are refused rather than ignored, so a config this port cannot honour fails
    here with the setting's name. The reference's regression (non-PCA) affine head is not ported.
    """
    params = dict(model_params)
    region = dict(params.pop("region_predictor_params", {}))
    if not region.pop("pca_based", True) and params.get("estimate_affine", True):
        raise LFGConfigError(
            "region_predictor_params.pca_based = False (regression affine head) is not supported"
        )
    background = params.pop("bg_predictor_params", {})
    generator = dict(params.pop("generator_params", {}))
    flow = generator.pop("pixelwise_flow_predictor_params", None)
    if flow is None:
        raise LFGConfigError("generator_params.pixelwise_flow_predictor_params is required")
    for name in _IGNORED_TOP:
        params.pop(name, None)
    return _section(
        "model_params",
        params,
        LFGConfig,
        image_size=int(image_size),
        region_predictor=_section("region_predictor_params", region, RegionPredictorConfig, _IGNORED_REGION),
        bg_predictor=_section("bg_predictor_params", background, BackgroundPredictorConfig),
        generator=_section(
            "generator_params",
            generator,
            GeneratorConfig,
            flow_predictor=_section("pixelwise_flow_predictor_params", flow, FlowPredictorConfig),
        ),
    )
