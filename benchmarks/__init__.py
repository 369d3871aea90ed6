"""Benchmarks run with `python -m benchmarks` (`make bench` starts the services first)."""

import os

# The benchmark client imports a few gateway modules as a library (the outbox publisher,
# the signature helper), which loads the gateway's settings and their production start-up
# checks. The client serves nothing; every server it starts gets production settings
# from harness.gateway_env (DEBUG off, generated keys).
os.environ.setdefault("DEBUG", "true")
