"""A tiny model set (real architectures, small widths, random weights) shared by the engine tests."""

import pytest
import soundfile
from support.paths import sample_portrait, sample_speech, tddfa_model_dir

from dawn_studio.engine.tiny_models import write_tiny_model_set


@pytest.fixture(scope="session")
def tiny_store(tmp_path_factory):
    return write_tiny_model_set(tmp_path_factory.mktemp("tiny-models"), tddfa_model_dir())


@pytest.fixture(scope="session")
def speech_2s(tmp_path_factory):
    """The first two seconds of the sample speech, as its own file."""
    samples, rate = soundfile.read(sample_speech(), dtype="float32")
    path = tmp_path_factory.mktemp("speech") / "speech_2s.wav"
    soundfile.write(path, samples[: 2 * rate], rate)
    return path


@pytest.fixture(scope="session")
def portrait_path():
    return sample_portrait("real_female_1.jpeg")
