"""Benchmarks of curator (run as scripts; see benchmarks/README.md)."""
