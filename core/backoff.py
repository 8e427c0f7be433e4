"""Job-level retry schedule: exponential backoff with jitter, capped.

HTTP calls retry in-call with tenacity for seconds; this schedule spaces out whole-job retries
over minutes so a remote outage does not turn into a hot loop.
"""

import random

BASE_DELAY_SECONDS = 30
MAX_DELAY_SECONDS = 3600
JITTER = 0.25  # +/- 25 %: spreads retries of jobs that failed together


def retry_delay(attempt, base=BASE_DELAY_SECONDS, cap=MAX_DELAY_SECONDS, jitter=JITTER, rng=random, minimum=0):
    """Seconds to wait before attempt number ``attempt + 1`` after ``attempt`` failed (1-based).

    ``minimum`` lets the remote side's Retry-After win when it asks for longer.
    """
    nominal = min(cap, base * (2 ** max(0, attempt - 1)))
    delay = nominal * (1 + rng.uniform(-jitter, jitter))
    return max(float(minimum or 0), min(float(cap), delay))


def delay_bounds(attempt, base=BASE_DELAY_SECONDS, cap=MAX_DELAY_SECONDS, jitter=JITTER):
    """The (low, high) range :func:`retry_delay` draws from: for tests and the UI."""
    nominal = min(cap, base * (2 ** max(0, attempt - 1)))
    return nominal * (1 - jitter), min(cap, nominal * (1 + jitter))
