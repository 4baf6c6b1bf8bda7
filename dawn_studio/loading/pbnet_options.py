"""Reading PBNet ``opt.yaml`` files safely and turning them into a :class:`PBNetConfig`.

The published options files are PyYAML dumps of the training parser's dictionary, so they
may carry Python-specific tags (tuples, ``torch.device``). They come from the internet: a
loader that constructs arbitrary objects would run code. The loader here is a ``SafeLoader``
that understands only tags describing plain data and refuses every other ``python/`` tag.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from ..networks.pbnet.config import SIGNAL_DIMS, PBNetConfig, PBNetConfigError, SignalKind

log = logging.getLogger(__name__)

#: Architectures this port builds.
SUPPORTED_ARCHITECTURES = ("transformerreemb5",)
#: Wrapper types whose inference path is the same (the CVAE only adds a training-time posterior).
SUPPORTED_MODEL_TYPES = ("cvae", "cae")

#: Published options files are about 1 kB; anything far larger is not one.
MAX_OPTIONS_BYTES = 1 << 20
_PY = "tag:yaml.org,2002:python/"


class PBNetOptionsError(ValueError):
    """An options file is unreadable, unsafe, or describes an unsupported model."""


class _OptionsLoader(yaml.SafeLoader):
    """SafeLoader plus the Python tags that only describe plain data."""


def _plain_tuple(loader: yaml.SafeLoader, node: yaml.Node) -> tuple:
    return tuple(loader.construct_sequence(node, deep=True))


def _plain_scalar(kind: type):
    def construct(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
        text = loader.construct_scalar(node)
        if kind is bool:
            return str(text).strip().lower() in ("true", "yes", "on", "1")
        return kind(text)

    return construct


def _none(loader: yaml.SafeLoader, node: yaml.Node) -> None:
    return None


def _device_name(loader: yaml.SafeLoader, node: yaml.Node) -> str:
    """``torch.device('cuda:0')`` dumped by PyYAML: keep the name as text, build nothing."""
    if isinstance(node, yaml.SequenceNode):
        parts = [str(v) for v in loader.construct_sequence(node, deep=True)]
    elif isinstance(node, yaml.MappingNode):
        mapping = loader.construct_mapping(node, deep=True)
        parts = [str(v) for v in mapping.get("args", [])]
    else:
        parts = [str(loader.construct_scalar(node))]
    return ":".join(parts)


def _refuse(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    raise PBNetOptionsError(
        f"Options file uses the tag !!python/{suffix}, which would create Python objects or run code; "
        "refusing to read it (only plain values, lists, mappings and tuples are accepted)"
    )


_OptionsLoader.add_constructor(_PY + "tuple", _plain_tuple)
_OptionsLoader.add_constructor(_PY + "list", lambda ld, n: ld.construct_sequence(n, deep=True))
_OptionsLoader.add_constructor(_PY + "dict", lambda ld, n: ld.construct_mapping(n, deep=True))
_OptionsLoader.add_constructor(_PY + "str", _plain_scalar(str))
_OptionsLoader.add_constructor(_PY + "unicode", _plain_scalar(str))
_OptionsLoader.add_constructor(_PY + "int", _plain_scalar(int))
_OptionsLoader.add_constructor(_PY + "long", _plain_scalar(int))
_OptionsLoader.add_constructor(_PY + "float", _plain_scalar(float))
_OptionsLoader.add_constructor(_PY + "bool", _plain_scalar(bool))
_OptionsLoader.add_constructor(_PY + "none", _none)
_OptionsLoader.add_constructor(_PY + "object/apply:torch.device", _device_name)
_OptionsLoader.add_constructor(_PY + "object/new:torch.device", _device_name)
_OptionsLoader.add_multi_constructor(_PY, _refuse)


def parse_options(text: str, *, source: str = "options") -> dict[str, Any]:
    """Parse the text of an ``opt.yaml`` into a plain dictionary without constructing objects."""
    try:
        data = yaml.load(text, Loader=_OptionsLoader)  # noqa: S506 - a SafeLoader subclass
    except PBNetOptionsError as exc:
        raise PBNetOptionsError(f"{source}: {exc}") from None
    except yaml.constructor.ConstructorError as exc:
        raise PBNetOptionsError(
            f"{source}: {exc.problem or exc}; only plain values, lists and mappings are accepted"
        ) from None
    except yaml.YAMLError as exc:
        raise PBNetOptionsError(f"{source}: not valid YAML ({str(exc).splitlines()[0]})") from None
    if not isinstance(data, Mapping):
        raise PBNetOptionsError(
            f"{source}: expected a mapping of option names to values, got {type(data).__name__}"
        )
    return {str(k): v for k, v in data.items()}


def read_options(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read an ``opt.yaml`` file safely (see :func:`parse_options`)."""
    p = Path(path)
    try:
        if p.stat().st_size > MAX_OPTIONS_BYTES:
            raise PBNetOptionsError(f"{p} is too large to be a PBNet options file")
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PBNetOptionsError(f"PBNet options file not found: {p}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PBNetOptionsError(f"Cannot read PBNet options file {p}: {exc}") from None
    return parse_options(text, source=str(p))


def architecture_of(options: Mapping[str, Any]) -> tuple[str, str]:
    """``(modeltype, archiname)``; the parser derives both from ``modelname`` when they are absent."""
    modeltype = options.get("modeltype")
    archiname = options.get("archiname")
    modelname = options.get("modelname")
    if isinstance(modelname, str) and (modeltype is None or archiname is None):
        parts = modelname.split("_")
        if len(parts) >= 2:
            modeltype = modeltype if modeltype is not None else parts[0]
            archiname = archiname if archiname is not None else parts[1]
    return str(modeltype if modeltype is not None else "cvae"), str(
        archiname if archiname is not None else SUPPORTED_ARCHITECTURES[0]
    )


def _int_option(options: Mapping[str, Any], name: str, default: int) -> int:
    value = options.get(name, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or int(value) != value:
        raise PBNetOptionsError(f"PBNet option '{name}' must be an integer, got {value!r}")
    return int(value)


def config_from_options(
    options: Mapping[str, Any],
    kind: SignalKind,
    *,
    architecture: str | None = None,
) -> PBNetConfig:
    """Validate an options dictionary into the config of the pose or blink model.

    ``pos_dim``/``eye_dim`` in the file are ignored: like the reference, the signal width
    comes from ``kind``. Options missing from the file take the reference constructors'
    defaults (e.g. ``max_distance`` and ``num_buckets`` 32). ``architecture`` replaces the
    file's ``archiname`` for files known to name the wrong one.
    """
    if kind not in SIGNAL_DIMS:
        raise PBNetOptionsError(
            f"Unknown PBNet model kind {kind!r} (expected one of: {', '.join(SIGNAL_DIMS)})"
        )
    modeltype, archiname = architecture_of(options)
    if architecture is not None:
        if archiname != architecture:
            log.warning("PBNet options name archiname %r; building %r as requested", archiname, architecture)
        archiname = architecture
    if archiname not in SUPPORTED_ARCHITECTURES:
        raise PBNetOptionsError(
            f"PBNet architecture {archiname!r} is not supported "
            f"(supported: {', '.join(SUPPORTED_ARCHITECTURES)}). "
            "If this checkpoint is known to be a transformerreemb5 model, load it with "
            "architecture='transformerreemb5'."
        )
    if modeltype not in SUPPORTED_MODEL_TYPES:
        raise PBNetOptionsError(
            f"PBNet model type {modeltype!r} is not supported (supported: {', '.join(SUPPORTED_MODEL_TYPES)})"
        )
    activation = options.get("activation", "gelu")
    dropout = options.get("dropout", 0.1)
    if isinstance(dropout, bool) or not isinstance(dropout, (int, float)):
        raise PBNetOptionsError(f"PBNet option 'dropout' must be a number, got {dropout!r}")
    audio_latent_dim = _int_option(options, "audio_latent_dim", 256)
    try:
        return PBNetConfig(
            signal_dim=SIGNAL_DIMS[kind],
            audio_dim=_int_option(options, "audio_dim", 1024),
            audio_latent_dim=audio_latent_dim,
            latent_dim=_int_option(options, "latent_dim", audio_latent_dim),
            pose_latent_dim=_int_option(options, "pose_latent_dim", 64),
            num_heads=_int_option(options, "num_heads", 4),
            dim_head=_int_option(options, "dim_head", 32),
            num_layers=_int_option(options, "num_layers", 4),
            ff_size=_int_option(options, "ff_size", 1024),
            num_buckets=_int_option(options, "num_buckets", 32),
            max_distance=_int_option(options, "max_distance", 32),
            dropout=float(dropout),
            activation=str(activation),
            num_frames=_int_option(options, "num_frames", 200),
            pe_max_len=_int_option(options, "pe_max_len", 20000),
        )
    except PBNetConfigError as exc:
        raise PBNetOptionsError(str(exc)) from None


def options_for_config(config: PBNetConfig) -> dict[str, Any]:
    """The options dictionary to write next to a checkpoint in the published layout.

    Holds the training parser's network options of the reference; values the reference
    hard-codes (heads, pose width, head width, positional table length, audio width) are
    written only when they differ from the published model, so a published-size file has
    exactly the reference's keys.
    """
    options: dict[str, Any] = {
        "modelname": "cvae_transformerreemb5_rc_kl_reg",
        "modeltype": "cvae",
        "archiname": "transformerreemb5",
        "latent_dim": config.latent_dim,
        "audio_latent_dim": config.audio_latent_dim,
        "num_layers": config.num_layers,
        "ff_size": config.ff_size,
        "num_buckets": config.num_buckets,
        "max_distance": config.max_distance,
        "activation": config.activation,
        "dropout": config.dropout,
        "num_frames": config.num_frames,
        "losses": ["rc", "kl", "reg"],
        "lambdas": {"rc": 1.0, "kl": 0.004, "reg": 0.0005},
    }
    reference = PBNetConfig(signal_dim=config.signal_dim)
    for name in ("audio_dim", "pose_latent_dim", "num_heads", "dim_head", "pe_max_len"):
        if getattr(config, name) != getattr(reference, name):
            options[name] = getattr(config, name)
    return options
