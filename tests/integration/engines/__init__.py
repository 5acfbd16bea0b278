"""Helpers for tests/integration/test_engines.py: a private mount namespace for the
engines, and thin drivers for podman and a private containerd."""
