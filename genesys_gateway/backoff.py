"""The project's one capped exponential back-off."""

import random


def backoff_capped(
    attempt: int,
    *,
    base: float,
    cap: float,
    jitter: float = 0.0,
    rng: random.Random | None = None,
) -> float:
    """Seconds to wait before retry number `attempt` (1-based): base, 2*base, ... up to cap.

    `jitter` (0..1) is the fraction of that delay drawn at random from `rng`: 0 is the
    plain delay, 0.5 is "equal jitter", 1 is "full jitter". Spreading retries keeps many
    clients that failed together from retrying together.
    """
    ceiling = min(cap, base * 2 ** max(0, attempt - 1))
    if jitter <= 0:
        return ceiling
    fixed = ceiling * (1 - jitter)
    return fixed + (rng or random).uniform(0, ceiling - fixed)
