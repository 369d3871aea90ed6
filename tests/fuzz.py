"""How many generated cases the property and fuzz tests run (docs/testing.md).

`make test` runs each with its small default; `make fuzz` sets FUZZ_EXAMPLES to the
full count. HYPOTHESIS_PROFILE=explore draws fresh random cases instead of those of the
fixed seed, so a run can find something new (a failure prints how to reproduce it).
"""

import os

from hypothesis import HealthCheck, settings


def fuzz_examples(default: int) -> int:
    """FUZZ_EXAMPLES when set (a positive integer), else `default`."""
    raw = os.environ.get("FUZZ_EXAMPLES", "").strip()
    if not raw:
        return default
    count = int(raw)
    if count < 1:
        raise ValueError(f"FUZZ_EXAMPLES must be a positive integer, not {raw!r}")
    return count


def fuzz_settings(default: int) -> settings:
    """Hypothesis settings for a test running fuzz_examples(default) cases.

    A fixed seed unless HYPOTHESIS_PROFILE=explore, so what fails once fails again on the
    next run. No example database: nothing is written into the checkout.
    """
    explore = os.environ.get("HYPOTHESIS_PROFILE") == "explore"
    return settings(
        max_examples=fuzz_examples(default),
        derandomize=not explore,
        deadline=None,
        database=None,
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
        ],
    )
