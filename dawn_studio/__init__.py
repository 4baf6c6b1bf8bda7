"""DAWN Studio: portrait + speech -> talking-head video with the DAWN model."""

__version__ = "0.1.0"
APP_NAME = "DAWN Studio"
APP_ID = "dawn-studio"
