"""Benchmarks that start the real servers; run each as ``python -m benchmarks.<name>`` (see README.md)."""
