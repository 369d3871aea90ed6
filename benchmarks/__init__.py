"""Benchmarks run with `python -m benchmarks` (`make bench` starts the services first)."""
