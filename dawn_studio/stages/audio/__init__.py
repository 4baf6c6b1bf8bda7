"""Speech input: decoding any format to 16-kHz mono, checks, waveform overview, trimming,
in-app recording and HuBERT features at video rate. No Qt here; the UI wraps these."""

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
from .hubert_model import (
    HUBERT_LARGE_CONFIG,
    HUBERT_LARGE_FOLDER,
    TINY_HUBERT_CONFIG,
    HubertEncoder,
    build_hubert,
    load_hubert,
    save_hubert_folder,
)
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
from .speech_features import (
    REFERENCE_CHUNKING,
    ChunkingSpec,
    SpeechFeatures,
    extract_speech_features,
    interpolate_frames,
)
from .trimming import TrimmedClip, trim_audio_file, trim_samples
from .validation import AudioWarning, SpeechInput, check_speech, load_speech, video_frame_count
from .waveform import Envelope, WaveformOverview, waveform_envelope

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
