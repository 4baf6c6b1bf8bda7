"""The HuBERT speech encoder: built from a local ``facebook/hubert-large-ls960-ft`` folder, or saved as one.

The folder holds ``config.json``, ``preprocessor_config.json`` and the weights of the published
CTC model (``pytorch_model.bin`` or ``model.safetensors``; keys ``hubert.*`` plus the discarded
``lm_head.*``). Weights go through ``loading.checkpoint`` (tensor-only reading, strict keys and
shapes) rather than ``from_pretrained``, which also settles the reference's loader pitfall B21:
the positional convolution's weight-norm tensors are stored as ``weight_g``/``weight_v`` in the
published file and as ``parametrizations.weight.original0/1`` in current torch modules; they are
renamed explicitly and checked after loading, so they can never stay randomly initialised.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn
from transformers import HubertConfig, HubertModel, Wav2Vec2FeatureExtractor

from ...loading.checkpoint import CheckpointError, load_strict, read_checkpoint, read_safetensors

HUBERT_LARGE_FOLDER = "hubert-large-ls960-ft"
CONFIG_FILE = "config.json"
PREPROCESSOR_FILE = "preprocessor_config.json"
WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")
_PUBLISHED_PREFIX = "hubert."
_CTC_HEAD_PREFIX = "lm_head."
# Only used for training-time masking: accepted when absent from the file or from the model.
_OPTIONAL_KEYS = frozenset({"masked_spec_embed"})
_WEIGHT_NORM_ALIASES = {"parametrizations.weight.original0": "weight_g",
                        "parametrizations.weight.original1": "weight_v"}

# Same structure as hubert-large (layer-norm conv front end with bias, stable layer norm, 400-sample
# receptive field, 320-sample hop) at a width small enough for fast end-to-end tests.
TINY_HUBERT_CONFIG: dict[str, Any] = {
    "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 64,
    "conv_dim": [16] * 7, "conv_kernel": [10, 3, 3, 3, 3, 2, 2], "conv_stride": [5, 2, 2, 2, 2, 2, 2],
    "conv_bias": True, "feat_extract_norm": "layer", "feat_extract_activation": "gelu",
    "do_stable_layer_norm": True, "feat_proj_layer_norm": True, "num_conv_pos_embeddings": 16,
    "num_conv_pos_embedding_groups": 4, "hidden_act": "gelu", "layer_norm_eps": 1e-5, "vocab_size": 32,
}
# facebook/hubert-large-ls960-ft, the model DAWN was trained with (1024-d features).
HUBERT_LARGE_CONFIG: dict[str, Any] = {
    "hidden_size": 1024, "num_hidden_layers": 24, "num_attention_heads": 16, "intermediate_size": 4096,
    "conv_dim": [512] * 7, "conv_kernel": [10, 3, 3, 3, 3, 2, 2], "conv_stride": [5, 2, 2, 2, 2, 2, 2],
    "conv_bias": True, "feat_extract_norm": "layer", "feat_extract_activation": "gelu",
    "do_stable_layer_norm": True, "feat_proj_layer_norm": True, "num_conv_pos_embeddings": 128,
    "num_conv_pos_embedding_groups": 16, "hidden_act": "gelu", "layer_norm_eps": 1e-5, "vocab_size": 32,
}


@dataclass
class HubertEncoder:
    """A HuBERT model in eval mode together with the feature extractor settings it expects."""

    model: HubertModel
    feature_extractor: Wav2Vec2FeatureExtractor
    source: Path | None = None

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    @property
    def dtype(self) -> torch.dtype:
        return next(self.model.parameters()).dtype

    @property
    def feature_size(self) -> int:
        return int(self.model.config.hidden_size)

    def to(self, device: str | torch.device | None = None, dtype: torch.dtype | None = None) -> HubertEncoder:
        """Move the model (in place) to the caller's device and dtype; returns self."""
        self.model.to(device=device, dtype=dtype)
        return self


def frame_geometry(config: HubertConfig) -> tuple[int, int]:
    """(receptive field, hop) in samples of one output frame of the conv front end (400, 320 for HuBERT)."""
    field, hop = 1, 1
    for kernel, stride in zip(config.conv_kernel, config.conv_stride, strict=True):
        field += (kernel - 1) * hop
        hop *= stride
    return field, hop


def build_hubert(config: HubertConfig | Mapping[str, Any]) -> HubertModel:
    """A randomly initialised HubertModel in eval mode (no masking, no layer drop)."""
    hubert_config = config if isinstance(config, HubertConfig) else HubertConfig(**dict(config))
    if not hubert_config.do_stable_layer_norm or hubert_config.feat_extract_norm != "layer":
        raise ValueError("DAWN's HuBERT features need the stable-layer-norm variant (feat_extract_norm='layer')")
    return HubertModel(hubert_config).eval()


def default_feature_extractor(sample_rate: int = 16_000) -> Wav2Vec2FeatureExtractor:
    """The published preprocessor settings: whole-clip zero-mean/unit-variance normalisation, no padding."""
    return Wav2Vec2FeatureExtractor(feature_size=1, sampling_rate=sample_rate, padding_value=0.0,
                                    do_normalize=True, return_attention_mask=True)


def _published_key(module_key: str) -> str:
    for modern, legacy in _WEIGHT_NORM_ALIASES.items():
        if module_key.endswith(modern):
            return module_key[: -len(modern)] + legacy
    return module_key


def module_state_from_published(
    state: Mapping[str, torch.Tensor], model: nn.Module,
) -> dict[str, torch.Tensor]:
    """Map a published HuBERT state dict (CTC file or bare model) onto ``model``'s key names."""
    if any(key.startswith(_PUBLISHED_PREFIX) for key in state):
        state = {k[len(_PUBLISHED_PREFIX):]: v for k, v in state.items() if k.startswith(_PUBLISHED_PREFIX)}
    else:
        state = {k: v for k, v in state.items() if not k.startswith(_CTC_HEAD_PREFIX)}
    own = model.state_dict()
    mapped: dict[str, torch.Tensor] = {}
    for key in own:
        legacy = _published_key(key)
        if key in state:
            mapped[key] = state[key]
        elif legacy in state:
            mapped[key] = state[legacy]
        elif key in _OPTIONAL_KEYS:
            mapped[key] = own[key]
    used = set(mapped) | {_published_key(k) for k in mapped} | _OPTIONAL_KEYS
    mapped.update({k: v for k, v in state.items() if k not in used})  # extras: load_strict names them
    return mapped


def _weight_file(folder: Path) -> Path:
    for name in WEIGHT_FILES:
        if (folder / name).is_file():
            return folder / name
    raise CheckpointError(
        f"No HuBERT weights in the model folder (expected {' or '.join(WEIGHT_FILES)}); "
        "download the speech model again", path=folder,
    )


def _read_json(path: Path) -> dict:
    if not path.is_file():
        raise CheckpointError("HuBERT model folder is incomplete: file missing", path=path)
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"Not a readable JSON file ({exc})", path=path) from exc
    if not isinstance(value, dict):
        raise CheckpointError("Expected a JSON object", path=path)
    return value


#: Upper bounds of the sizes a HuBERT configuration may ask for (HuBERT-XL is 1280 wide, 48 layers):
#: a file asking for more would only exhaust the memory while the network is built.
_CONFIG_LIMITS = {"hidden_size": 8192, "num_hidden_layers": 256, "num_attention_heads": 256,
                  "intermediate_size": 65_536, "num_conv_pos_embeddings": 4096,
                  "num_conv_pos_embedding_groups": 4096, "vocab_size": 1_000_000}
_MAX_PARAMETERS = 4_000_000_000


def _check_config_sizes(raw: dict, path: Path) -> None:
    """Refuse a configuration with absurd sizes before any memory is allocated for it."""
    def bad(what: str) -> CheckpointError:
        return CheckpointError(f"Unusable HuBERT configuration: {what}", path=path)

    sizes = {}
    for key, limit in _CONFIG_LIMITS.items():
        value = raw.get(key, HUBERT_LARGE_CONFIG.get(key, 1))
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= limit:
            raise bad(f"'{key}' must be a whole number from 1 to {limit}, got {str(value)[:40]}")
        sizes[key] = value
    convs = {key: raw.get(key, HUBERT_LARGE_CONFIG[key]) for key in ("conv_dim", "conv_kernel", "conv_stride")}
    for key, values in convs.items():
        if not isinstance(values, list) or not 1 <= len(values) <= 32 or not all(
                isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 8192 for v in values):
            raise bad(f"'{key}' must be a list of up to 32 whole numbers from 1 to 8192")
    hidden, inner = sizes["hidden_size"], sizes["intermediate_size"]
    dims = [1, *convs["conv_dim"]]
    parameters = (sizes["num_hidden_layers"] * (4 * hidden * hidden + 2 * hidden * inner)
                  + hidden * hidden * sizes["num_conv_pos_embeddings"] // sizes["num_conv_pos_embedding_groups"]
                  + sum(a * b * k for a, b, k in zip(dims, dims[1:], convs["conv_kernel"], strict=False))
                  + hidden * sizes["vocab_size"])
    if parameters > _MAX_PARAMETERS:
        raise bad(f"it asks for about {parameters / 1e9:.0f} billion weights, far more than any HuBERT model")


def load_hubert(
    folder: str | Path, *, device: str | torch.device = "cpu", dtype: torch.dtype = torch.float32,
) -> HubertEncoder:
    """Load the speech encoder from a local model folder (layout of ``facebook/hubert-large-ls960-ft``)."""
    root = Path(folder)
    if not root.is_dir():
        raise CheckpointError("HuBERT model folder not found; download the speech model first", path=root)
    config_path = root / CONFIG_FILE
    try:
        raw_config = _read_json(config_path)
        _check_config_sizes(raw_config, config_path)
        config = HubertConfig(**raw_config)
        model = build_hubert(config)
    except (TypeError, ValueError) as exc:
        if isinstance(exc, CheckpointError):
            raise
        raise CheckpointError(f"Unusable HuBERT configuration ({exc})", path=config_path) from exc
    preprocessor = _read_json(root / PREPROCESSOR_FILE)
    preprocessor.pop("feature_extractor_type", None)
    preprocessor.pop("processor_class", None)
    feature_extractor = Wav2Vec2FeatureExtractor(**preprocessor)
    weights = _weight_file(root)
    raw = read_safetensors(weights) if weights.suffix == ".safetensors" else read_checkpoint(weights)
    state = module_state_from_published(raw, model)
    load_strict(model, state, path=weights, section="hubert")
    verify_positional_conv(model, state, path=weights)
    model.to(device=device, dtype=dtype)
    return HubertEncoder(model, feature_extractor, root)


def verify_positional_conv(model: HubertModel, state: Mapping[str, torch.Tensor], *, path: Path | None) -> None:
    """Fail loudly if the weight-normalised positional convolution did not receive the file's tensors (B21)."""
    own = model.state_dict()
    for key in own:
        if "pos_conv_embed" in key and key in state and not torch.equal(own[key], state[key].to(own[key].dtype)):
            raise CheckpointError("Positional convolution weights were not loaded", path=path,
                                  section="hubert", key=key)


def published_state(model: HubertModel, ctc_head: nn.Linear | None = None) -> dict[str, torch.Tensor]:
    """The state dict as the published CTC file stores it: ``hubert.``-prefixed legacy weight-norm keys
    and an ``lm_head`` (unused by DAWN; a freshly initialised one when none is given)."""
    state = {_PUBLISHED_PREFIX + _published_key(k): v.detach().cpu().clone().contiguous()
             for k, v in model.state_dict().items()}
    config = model.config
    head = ctc_head if ctc_head is not None else nn.Linear(config.hidden_size, config.vocab_size)
    state[_CTC_HEAD_PREFIX + "weight"] = head.weight.detach().cpu().clone()
    state[_CTC_HEAD_PREFIX + "bias"] = head.bias.detach().cpu().clone()
    return state


def save_hubert_folder(
    model: HubertModel, folder: str | Path, *, feature_extractor: Wav2Vec2FeatureExtractor | None = None,
    ctc_head: nn.Linear | None = None,
) -> Path:
    """Write ``model`` as a ``hubert-large-ls960-ft``-style folder (config, preprocessor, pytorch_model.bin)."""
    root = Path(folder)
    root.mkdir(parents=True, exist_ok=True)
    config = model.config.to_dict()
    config["architectures"] = ["HubertForCTC"]
    (root / CONFIG_FILE).write_text(json.dumps(config, indent=2, sort_keys=True), encoding="utf-8")
    extractor = feature_extractor if feature_extractor is not None else default_feature_extractor()
    (root / PREPROCESSOR_FILE).write_text(extractor.to_json_string(), encoding="utf-8")
    torch.save(published_state(model, ctc_head), root / "pytorch_model.bin")
    return root
