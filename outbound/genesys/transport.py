"""HTTP to Genesys Cloud: the pooled session, one attempt, and the retry policy around it.

- One `requests.Session` per process, pooled; every attempt has a timeout; redirects are
  never followed (a 3xx is an unusable answer); no cookies are kept or sent. Requests are
  prepared here and sent through the session's adapter (`_exchange`), skipping the
  per-call work of `Session.request` that the gateway does not use.
- Retries: 429 (after its Retry-After) for any request, since Genesys did not process it;
  502/503/504, timeouts, connection errors and broken transfers only for requests that are
  safe to repeat (reads, and Open Messaging inbound messages, receipts and events, which
  carry the same `channel.messageId` on every attempt; what that does and does not
  guarantee: docs/api.md, "Sends that never double"). Capped exponential backoff with
  jitter, at most GENESYS_MAX_ATTEMPTS attempts, all inside a time budget
  (GENESYS_RETRY_BUDGET_S) so an API answer is bounded.
"""

import functools
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlsplit

import requests
import structlog
from django.conf import settings
from prometheus_client import Counter, Histogram
from requests.adapters import HTTPAdapter

from genesys_gateway.backoff import backoff_capped
from outbound.genesys.exceptions import (
    GenesysBadAnswerError,
    GenesysError,
    GenesysTimeoutError,
    GenesysTransientError,
    error_from_response,
)

logger = structlog.get_logger(__name__)

# Plain Counter/Histogram: in gunicorn multiprocess mode (PROMETHEUS_MULTIPROC_DIR) each
# worker writes its own samples and /metrics merges them.
GENESYS_REQUESTS = Counter(
    "gateway_genesys_requests",
    "Genesys Cloud HTTP attempts, by templated endpoint and status (or timeout/connection).",
    ["endpoint", "method", "status"],
)
GENESYS_LATENCY = Histogram(
    "gateway_genesys_request_duration_seconds",
    "Genesys Cloud HTTP attempt latency, by templated endpoint and status.",
    ["endpoint", "method", "status"],
    buckets=(0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)

# Statuses worth another attempt when the request is safe to repeat.
_RETRYABLE_STATUSES = frozenset({429, 502, 503, 504})
# A transfer cut off mid-body: Genesys answered, so a safe request may be repeated.
_BROKEN_TRANSFERS = (
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
)
# Never start an attempt with less time than this left in the budget.
_MIN_ATTEMPT_S = 0.5


@dataclass(frozen=True)
class RetryPolicy:
    timeout_s: float
    budget_s: float
    max_attempts: int
    backoff_base_s: float
    backoff_max_s: float

    @classmethod
    def from_settings(cls, **overrides: Any) -> "RetryPolicy":
        values: dict[str, Any] = {
            "timeout_s": settings.GENESYS_TIMEOUT_S,
            "budget_s": settings.GENESYS_RETRY_BUDGET_S,
            "max_attempts": settings.GENESYS_MAX_ATTEMPTS,
            "backoff_base_s": settings.GENESYS_BACKOFF_BASE_S,
            "backoff_max_s": settings.GENESYS_BACKOFF_MAX_S,
        }
        values.update(overrides)
        return cls(**values)

    def backoff(self, attempt: int, rng: random.Random) -> float:
        """Equal jitter: half the capped exponential delay, plus a random part of the rest."""
        return backoff_capped(
            attempt, base=self.backoff_base_s, cap=self.backoff_max_s, jitter=0.5, rng=rng
        )


class RateLimiter(Protocol):
    def acquire(self, *, max_wait_s: float) -> float:
        """Reserve one request; return seconds to wait first, or raise GenesysRateLimitedError."""

    def pause(self, *, seconds: float, reserve: bool) -> None:
        """Genesys answered 429: hold every caller back for `seconds`; with `reserve`, the
        first slot after that belongs to the caller, who then skips its next acquire."""


@dataclass
class Clock:
    sleep: Callable[[float], None] = time.sleep
    monotonic: Callable[[], float] = time.monotonic
    rng: random.Random = field(default_factory=random.Random)


@dataclass(frozen=True)
class Call:
    """One logical request; `endpoint` is the templated path, also the metrics label."""

    method: str
    url: str
    endpoint: str
    safe: bool
    token_endpoint: bool = False
    options: dict[str, Any] = field(default_factory=dict)  # passed on to requests

    @property
    def label(self) -> str:
        return "token request" if self.token_endpoint else f"{self.method} {self.endpoint}"


@dataclass
class _Failure:
    error: GenesysError
    outcome: str  # the metrics and log label: a status, "timeout", ...
    retryable: bool


# --- The session -------------------------------------------------------------------------


class _Session(requests.Session):
    """A session that reads the environment's proxy and CA-bundle settings once per host.

    requests scans all of os.environ (HTTPS_PROXY, NO_PROXY, REQUESTS_CA_BUNDLE, ...) on
    every request: the largest single cost of a call to Genesys in the gateway's profile
    (docs/benchmarks.md). The answer depends only on the scheme and host, and the
    environment of a running process does not change, so it is kept per (scheme, host).
    """

    def __init__(self) -> None:
        super().__init__()
        # Values are requests' own settings dicts (typed only in its stubs).
        self._environment: dict[tuple[Any, ...], Any] = {}

    def merge_environment_settings(
        self, url: Any, proxies: Any, stream: Any, verify: Any, cert: Any
    ) -> Any:
        if proxies or not self.trust_env:
            return super().merge_environment_settings(url, proxies, stream, verify, cert)
        parts = urlsplit(str(url))
        key = (parts.scheme, parts.netloc, stream, verify, cert)
        merged = self._environment.get(key)
        if merged is None:
            merged = super().merge_environment_settings(url, proxies, stream, verify, cert)
            if len(self._environment) < _ENVIRONMENT_CACHE_SIZE:
                self._environment[key] = merged
        # A copy: requests may change the proxies it is given.
        return {**merged, "proxies": dict(merged["proxies"])}


# Genesys regions and emulators: a handful of hosts; the cap only bounds a surprise.
_ENVIRONMENT_CACHE_SIZE = 64


def _new_session() -> _Session:
    session = _Session()
    # Our own loop retries; urllib3's would not know the budget or the safety rules.
    adapter = HTTPAdapter(
        pool_connections=10, pool_maxsize=settings.GENESYS_POOL_MAXSIZE, max_retries=0
    )
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


_session: _Session | None = None
_session_lock = threading.Lock()


def _http() -> _Session:
    """The process's pooled session (created lazily, after settings are loaded)."""
    global _session  # one pool per process, by design
    if _session is None:
        with _session_lock:
            if _session is None:
                _session = _new_session()
    return _session


# --- One attempt -------------------------------------------------------------------------


def _prepared(call: Call, session: requests.Session) -> requests.PreparedRequest:
    """The request as `Session.request` would prepare it, minus what the gateway never uses.

    No cookies (an API called with bearer tokens for many tenants keeps no cookie jar),
    no netrc, no hooks, and the query string built once per URL: `Session.request` does
    all of that on every call, several times the cost of the rest (docs/benchmarks.md).
    """
    options = call.options
    prepared = requests.PreparedRequest()
    prepared.method = call.method
    prepared.url = _url_with_query(call.url, options.get("params"))
    prepared.prepare_headers({**session.headers, **options.get("headers", {})})
    prepared.prepare_body(options.get("data"), None, options.get("json"))
    if options.get("auth") is not None:
        prepared.prepare_auth(options["auth"])
    return prepared


def _url_with_query(url: str, params: Any) -> str:
    """The URL with its query string, quoted as requests quotes it; cached per URL."""
    query = tuple(params.items() if isinstance(params, dict) else params or ())
    try:
        return _full_url(url, query)
    except TypeError:  # a list among the values: not hashable, so not cached
        return _full_url.__wrapped__(url, query)


@functools.lru_cache(maxsize=1024)
def _full_url(url: str, query: tuple[tuple[Any, Any], ...]) -> str:
    prepared = requests.PreparedRequest()
    prepared.prepare_url(url, list(query))
    assert prepared.url is not None
    return prepared.url


def _exchange(call: Call, *, timeout: float) -> requests.Response:
    session = _http()
    prepared = _prepared(call, session)
    assert prepared.url is not None
    # Proxies, CA bundle and certificate from the environment (cached per host), as
    # `Session.request` would pass them; redirects are never followed, so the adapter is
    # all of `Session.send` that is needed.
    environment = session.merge_environment_settings(prepared.url, {}, None, None, None)
    adapter = session.get_adapter(prepared.url)
    response = adapter.send(prepared, timeout=timeout, **environment)
    response.content  # noqa: B018  # read the body: the connection goes back to the pool
    return response


def _attempt(call: Call, *, timeout: float) -> requests.Response | _Failure:
    """One HTTP exchange: the response when it is final, else what went wrong."""
    started = time.perf_counter()
    try:
        response = _exchange(call, timeout=timeout)
    except requests.RequestException as exc:
        failure = _failure_from_exception(exc, call=call, timeout=timeout)
        _observe(call, failure.outcome, started)
        return failure
    _observe(call, str(response.status_code), started)
    return _failure_from_status(response, call=call) or response


def _failure_from_exception(
    exc: requests.RequestException, *, call: Call, timeout: float
) -> _Failure:
    if isinstance(exc, requests.Timeout):
        error: GenesysError = GenesysTimeoutError(f"{call.label}: no answer within {timeout:.1f} s")
        # A connect timeout never reached Genesys, so it is safe for any request.
        return _Failure(error, "timeout", call.safe or isinstance(exc, requests.ConnectTimeout))
    if isinstance(exc, requests.ConnectionError):
        error = GenesysTransientError(f"{call.label} failed: {type(exc).__name__}")
        return _Failure(error, "connection_error", call.safe)
    error = GenesysBadAnswerError(f"{call.label}: unusable answer ({type(exc).__name__})")
    return _Failure(error, "broken_answer", call.safe and isinstance(exc, _BROKEN_TRANSFERS))


def _failure_from_status(response: requests.Response, *, call: Call) -> _Failure | None:
    status = response.status_code
    outcome = str(status)
    if 300 <= status < 400:
        # Genesys has no reason to redirect an API call; following one could carry the
        # bearer token or the client secret elsewhere.
        error: GenesysError = GenesysBadAnswerError(
            f"{call.label}: answered {status}, a redirect, which is not followed",
            genesys_status=status,
        )
        return _Failure(error, outcome, retryable=False)
    if status == 429 or status >= 500:
        error = error_from_response(response, token_endpoint=call.token_endpoint)
        retryable = status == 429 or (call.safe and status in _RETRYABLE_STATUSES)
        return _Failure(error, outcome, retryable)
    return None


def _observe(call: Call, status: str, started: float) -> None:
    labels = (call.endpoint, call.method, status)
    GENESYS_LATENCY.labels(*labels).observe(time.perf_counter() - started)
    GENESYS_REQUESTS.labels(*labels).inc()


# --- The retry policy --------------------------------------------------------------------


def send(
    call: Call,
    *,
    policy: RetryPolicy,
    clock: Clock,
    deadline: float,
    limiter: RateLimiter | None = None,
) -> requests.Response:
    """Attempts until a final answer, the attempt cap or the deadline.

    Returns any answer that is not worth retrying (2xx and 4xx other than 429); raises
    the last failure when retryable ones outlast the attempts or the budget.
    """
    attempt = 0
    reserved = False  # a slot after Genesys' Retry-After is already ours (see pause)
    while True:
        attempt += 1
        if not reserved:
            _wait_for_limiter(limiter, clock=clock, deadline=deadline)
        reserved = False
        timeout = max(_MIN_ATTEMPT_S, min(policy.timeout_s, deadline - clock.monotonic()))
        result = _attempt(call, timeout=timeout)
        if isinstance(result, requests.Response):
            return result
        delay = _retry_delay(result.error, attempt=attempt, policy=policy, rng=clock.rng)
        out_of_time = clock.monotonic() + delay + _MIN_ATTEMPT_S > deadline
        giving_up = not result.retryable or attempt >= policy.max_attempts or out_of_time
        if limiter is not None and result.error.genesys_status == 429:
            # Genesys' limit is per OAuth client: every process must hold back, not just us.
            # A caller that will retry keeps the first slot after the pause for itself.
            pause_s = float(result.error.retry_after or policy.backoff_base_s)
            limiter.pause(seconds=pause_s, reserve=not giving_up)
            reserved = not giving_up
        if giving_up:
            _log_failure(call, result, attempts=attempt)
            result.error.backoff_s = delay
            # Safe when the request is (a read, or a message resent with the same
            # channel.messageId), or when Genesys cannot have processed it (a 429, a
            # connect timeout).
            result.error.safe_to_repeat = call.safe or result.retryable
            raise result.error
        logger.info(
            "genesys_call_retry",
            endpoint=call.endpoint,
            method=call.method,
            outcome=result.outcome,
            attempt=attempt,
            delay_s=round(delay, 3),
            genesys_context_id=result.error.context_id,
        )
        clock.sleep(delay)


def _wait_for_limiter(limiter: RateLimiter | None, *, clock: Clock, deadline: float) -> None:
    if limiter is None:
        return
    remaining = deadline - clock.monotonic()
    wait = limiter.acquire(max_wait_s=max(0.0, remaining - _MIN_ATTEMPT_S))
    if wait > 0:
        clock.sleep(wait)


def _retry_delay(
    error: GenesysError, *, attempt: int, policy: RetryPolicy, rng: random.Random
) -> float:
    if error.retry_after is not None:
        # Honour Genesys' own figure, plus a little jitter so workers do not stampede.
        return error.retry_after + rng.uniform(0, 0.25)
    return policy.backoff(attempt, rng)


def _log_failure(call: Call, failure: _Failure, *, attempts: int) -> None:
    logger.warning(
        "genesys_call_failed",
        endpoint=call.endpoint,
        method=call.method,
        outcome=failure.outcome,
        attempts=attempts,
        genesys_context_id=failure.error.context_id,
        detail=failure.error.message,
    )
