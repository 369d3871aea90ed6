"""Run every benchmark in turn."""

import sys

from benchmarks import relay


def main() -> int:
    return relay.main()


if __name__ == "__main__":
    sys.exit(main())
