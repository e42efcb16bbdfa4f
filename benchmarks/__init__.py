"""Benchmarks: performance targets are measured here, never asserted in tests."""
