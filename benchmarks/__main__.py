"""Run the benchmarks and print a summary of their ratios.

    python -m benchmarks                 # all: relay, latency, relay-rss, ingest,
                                         # outbound (sync + async), media
    python -m benchmarks ingest          # one (or several) by name
    python -m benchmarks.ingest --help   # one with its own options

Every figure is a ratio to a baseline measured in the same run (docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable

from benchmarks import ingest, media, outbound, outbound_async, relay, relay_e2e


def _outbound(argv: list[str]) -> dict[str, float]:
    """The synchronous path against the direct call, then the asynchronous path."""
    figures = outbound.main(argv)
    figures.update({f"async {name}": value for name, value in outbound_async.main([]).items()})
    return figures


BENCHMARKS: dict[str, Callable[[list[str]], dict[str, float]]] = {
    "relay": relay.main,
    "latency": lambda argv: relay_e2e.main(["latency", *argv]),
    "relay-rss": lambda argv: relay_e2e.main(["rss", *argv]),
    "ingest": ingest.main,
    "outbound": _outbound,
    "media": media.main,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("names", nargs="*", metavar="NAME", help=", ".join(BENCHMARKS))
    args = parser.parse_args(argv)
    unknown = [name for name in args.names if name not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
    names = args.names or list(BENCHMARKS)
    summary: list[tuple[str, str, float]] = []
    took: dict[str, float] = {}
    for name in names:
        print(f"\n== {name} ==", flush=True)
        started = time.monotonic()
        figures = BENCHMARKS[name]([])
        took[name] = time.monotonic() - started
        summary.extend((name, figure, value) for figure, value in figures.items())
        sys.stdout.flush()
    print("\n== summary (ratios to same-run baselines; see docs/benchmarks.md) ==")
    for name, figure, value in summary:
        unit = " ms" if figure.endswith("(ms)") else "x"
        label = figure.removesuffix(" (ms)")
        print(f"  {name:<10}{label:<44}{value:8.2f}{unit}")
    print("  took " + ", ".join(f"{name} {seconds:.0f} s" for name, seconds in took.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
