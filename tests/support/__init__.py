"""Helpers shared by the test suite (paths to shared test data, conformance fixtures)."""
