"""Speech input: decoding any format to 16-kHz mono, checks, waveform overview, trimming,
in-app recording and HuBERT features at video rate. No Qt here; the UI wraps these.

The HuBERT names are imported on first use: they pull in torch and transformers (seconds),
which decoding, the waveform and the recorder do not need.
"""

import importlib
from typing import Any

from .decoding import (
    REFERENCE_DECODING,
    SPEECH_RATE,
    STUDIO_DECODING,
    AudioInfo,
    DecodedAudio,
    DecodeOptions,
    decode_audio,
    probe_audio,
)
from .errors import AudioError
from .levels import BlockLevel, SignalStats, block_level, dbfs
from .recorder import (
    InputDevice,
    MeterReading,
    Recorder,
    RecorderState,
    RecordingAvailability,
    RecordingResult,
    RecordingUnavailable,
    list_input_devices,
    recording_availability,
    repair_recording,
)
from .trimming import TrimmedClip, trim_audio_file, trim_samples
from .validation import AudioWarning, SpeechInput, check_speech, load_speech, video_frame_count
from .waveform import Envelope, WaveformOverview, waveform_envelope

_LAZY = {
    "HUBERT_LARGE_CONFIG": "hubert_model", "HUBERT_LARGE_FOLDER": "hubert_model",
    "TINY_HUBERT_CONFIG": "hubert_model", "HubertEncoder": "hubert_model", "build_hubert": "hubert_model",
    "load_hubert": "hubert_model", "save_hubert_folder": "hubert_model",
    "REFERENCE_CHUNKING": "speech_features", "ChunkingSpec": "speech_features",
    "SpeechFeatures": "speech_features", "extract_speech_features": "speech_features",
    "interpolate_frames": "speech_features",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "HUBERT_LARGE_CONFIG", "HUBERT_LARGE_FOLDER", "REFERENCE_CHUNKING", "REFERENCE_DECODING", "SPEECH_RATE",
    "STUDIO_DECODING", "TINY_HUBERT_CONFIG", "AudioError", "AudioInfo", "AudioWarning", "BlockLevel",
    "ChunkingSpec", "DecodeOptions", "DecodedAudio", "HubertEncoder", "SignalStats", "SpeechFeatures",
    "SpeechInput", "block_level", "build_hubert", "check_speech", "dbfs", "decode_audio",
    "extract_speech_features", "interpolate_frames", "load_hubert", "load_speech", "probe_audio",
    "save_hubert_folder", "video_frame_count",
    "Envelope", "InputDevice", "MeterReading", "Recorder", "RecorderState", "RecordingAvailability",
    "RecordingResult", "RecordingUnavailable", "TrimmedClip", "WaveformOverview", "list_input_devices",
    "recording_availability", "repair_recording", "trim_audio_file", "trim_samples", "waveform_envelope",
]
