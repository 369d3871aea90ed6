"""The only code that speaks HTTP to Genesys Cloud.

A small client that knows URLs, auth and JSON, and nothing about our models: the token
store and the rate limiter are handed in (outbound/services/ keeps both in the database).

- One `requests.Session` per process, pooled; every call has a timeout.
- Retries: 429 (after its Retry-After) for any request, since Genesys did not process it;
  502/503/504, timeouts and connection errors only for requests that are safe to repeat
  (reads, and Open Messaging inbound messages, receipts and events, which Genesys
  de-duplicates by `channel.messageId`). Capped exponential backoff with jitter, at most
  GENESYS_MAX_ATTEMPTS attempts, all inside a time budget (GENESYS_RETRY_BUDGET_S) so an
  API answer is bounded.
- A 401 or 403 gets one fresh token and one more try (CONTRACT section 2); a second
  refusal is final.
- HTTP outcomes become our own errors, split by whether a retry can help. Each is a
  ProblemError, so the API's one exception handler answers with the status CONTRACT
  section 2 asks for and Genesys' contextId; views never catch them.
"""

import email.utils
import math
import random
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import quote

import requests
import structlog
from django.conf import settings
from prometheus_client import Counter, Histogram
from requests.adapters import HTTPAdapter

from genesys_gateway.problems import ProblemError

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
# Never start an attempt with less time than this left in the budget.
_MIN_ATTEMPT_S = 0.5


# --- Errors ----------------------------------------------------------------------------


class GenesysError(ProblemError):
    """Genesys answered with an error, or not at all. `status` is OUR answer's status."""

    status = 502
    slug = "genesys-error"
    title = "Genesys Cloud error"

    def __init__(
        self,
        message: str,
        *,
        genesys_status: int | None = None,
        context_id: str = "",
        code: str = "",
        retry_after: int | None = None,
    ) -> None:
        extra: dict[str, Any] = {}
        if genesys_status:
            extra["genesys_status"] = genesys_status
        if code:
            extra["genesys_code"] = code
        if context_id:
            extra["genesys_context_id"] = context_id
        super().__init__(message, extra=extra)
        self.message = message
        self.genesys_status = genesys_status
        self.context_id = context_id
        self.code = code
        self.retry_after = retry_after


class GenesysTransientError(GenesysError):
    """Timeouts, connection errors, 429 and 5xx: a later retry may succeed."""

    status = 503
    slug = "genesys-unavailable"
    title = "Genesys Cloud unavailable"

    def __init__(self, message: str, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        if self.status == 503:
            retry_after = self.retry_after or settings.GENESYS_DEFAULT_RETRY_AFTER_S
            self.retry_after = retry_after
            self.headers["Retry-After"] = str(retry_after)


class GenesysRateLimitedError(GenesysTransientError):
    """Genesys answered 429, or our own limiter would have to wait too long."""

    slug = "genesys-rate-limited"
    title = "Genesys Cloud rate limit reached"


class GenesysTimeoutError(GenesysTransientError):
    status = 504
    slug = "genesys-timeout"
    title = "Genesys Cloud timed out"


class GenesysPermanentError(GenesysError):
    """400, 401, 403, 404 and other 4xx: repeating the request will not help."""


class GenesysBadRequestError(GenesysPermanentError):
    status = 422
    slug = "genesys-rejected-request"
    title = "Genesys Cloud rejected the request"


class GenesysNotFoundError(GenesysPermanentError):
    status = 404
    slug = "genesys-not-found"
    title = "Not found in Genesys Cloud"


class GenesysAuthError(GenesysPermanentError):
    status = 502
    slug = "genesys-auth-failed"
    title = "Genesys Cloud refused the gateway's credentials"


def _parse_retry_after(value: str | None) -> int | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return int(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0, math.ceil(when.timestamp() - time.time()))


def _error_from_response(
    response: requests.Response, *, token_endpoint: bool = False
) -> GenesysError:
    try:
        body = response.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    # Platform errors are ErrorBody {message, code, contextId}; the token endpoint answers
    # OAuth style {error, description}.
    message = str(
        body.get("message") or body.get("description") or body.get("error") or response.reason
    )
    context_id = str(body.get("contextId") or response.headers.get("ININ-Correlation-Id", ""))
    code = str(body.get("code") or body.get("error") or "")
    status = response.status_code
    error_class: type[GenesysError]
    if status == 429:
        error_class = GenesysRateLimitedError
    elif status == 504:
        error_class = GenesysTimeoutError
    elif status >= 500:
        error_class = GenesysTransientError
    elif status in (401, 403) or token_endpoint:
        error_class = GenesysAuthError
    elif status == 404:
        error_class = GenesysNotFoundError
    elif status == 400:
        error_class = GenesysBadRequestError
    else:
        error_class = GenesysPermanentError
    return error_class(
        message,
        genesys_status=status,
        context_id=context_id,
        code=code,
        retry_after=_parse_retry_after(response.headers.get("Retry-After")),
    )


# --- Transport -------------------------------------------------------------------------


def _new_session() -> requests.Session:
    session = requests.Session()
    # Our own loop retries; urllib3's would not know the budget or the safety rules.
    adapter = HTTPAdapter(
        pool_connections=10, pool_maxsize=settings.GENESYS_POOL_MAXSIZE, max_retries=0
    )
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


_session: requests.Session | None = None
_session_lock = threading.Lock()


def _http() -> requests.Session:
    """The process's pooled session (created lazily, after settings are loaded)."""
    global _session  # one pool per process, by design
    if _session is None:
        with _session_lock:
            if _session is None:
                _session = _new_session()
    return _session


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
        ceiling = min(self.backoff_max_s, self.backoff_base_s * 2 ** (attempt - 1))
        return ceiling / 2 + rng.uniform(0, ceiling / 2)


class RateLimiter(Protocol):
    def acquire(self, *, max_wait_s: float) -> float:
        """Reserve one request; return seconds to wait first, or raise GenesysRateLimitedError."""


class TokenSource(Protocol):
    def token(self, *, rejected: str | None = None) -> str | None:
        """A valid access token; `rejected` is one Genesys just refused (401/403).

        None when no other token can be had: the refusal is then final.
        """


@dataclass
class _Clock:
    sleep: Callable[[float], None]
    monotonic: Callable[[], float]
    rng: random.Random


def _send(
    *,
    method: str,
    url: str,
    endpoint: str,
    safe: bool,
    policy: RetryPolicy,
    clock: _Clock,
    deadline: float,
    limiter: RateLimiter | None = None,
    token_endpoint: bool = False,
    **kwargs: Any,
) -> requests.Response:
    """One logical request: attempts until a final answer, the attempt cap or the deadline.

    Returns any answer that is not worth retrying (2xx and 4xx other than 429); raises
    our transient error when the retryable failures outlast the attempts or the budget.
    """
    label = "token request" if token_endpoint else f"{method} {endpoint}"
    attempt = 0
    while True:
        attempt += 1
        if limiter is not None:
            remaining = deadline - clock.monotonic()
            wait = limiter.acquire(max_wait_s=max(0.0, remaining - _MIN_ATTEMPT_S))
            if wait > 0:
                clock.sleep(wait)
        timeout = max(_MIN_ATTEMPT_S, min(policy.timeout_s, deadline - clock.monotonic()))
        started = time.perf_counter()
        error: GenesysTransientError
        retry_after: int | None = None
        try:
            response = _http().request(method, url, timeout=timeout, **kwargs)
        except requests.Timeout as exc:
            outcome = "timeout"
            error = GenesysTimeoutError(f"{label}: no answer within {timeout:.1f} s")
            # A connect timeout never reached Genesys, so it is safe for any request.
            retryable = safe or isinstance(exc, requests.ConnectTimeout)
        except requests.ConnectionError as exc:
            outcome = "connection_error"
            error = GenesysTransientError(f"{label} failed: {type(exc).__name__}")
            retryable = safe
        else:
            outcome = str(response.status_code)
            status = response.status_code
            if status != 429 and status < 500:
                _observe(endpoint, method, outcome, started)
                return response
            failure = _error_from_response(response, token_endpoint=token_endpoint)
            assert isinstance(failure, GenesysTransientError)
            error = failure
            retryable = status == 429 or (safe and status in _RETRYABLE_STATUSES)
            retry_after = _parse_retry_after(response.headers.get("Retry-After"))
        _observe(endpoint, method, outcome, started)
        if retry_after is not None:
            # Honour Genesys' own figure, plus a little jitter so workers do not stampede.
            delay = retry_after + clock.rng.uniform(0, 0.25)
        else:
            delay = policy.backoff(attempt, clock.rng)
        out_of_time = clock.monotonic() + delay + _MIN_ATTEMPT_S > deadline
        if not retryable or attempt >= policy.max_attempts or out_of_time:
            logger.warning(
                "genesys_call_failed",
                endpoint=endpoint,
                method=method,
                outcome=outcome,
                attempts=attempt,
                genesys_context_id=error.context_id,
                detail=error.message,
            )
            if error.status == 503:
                # Tell the caller when trying again makes sense: Genesys' own figure, else
                # no sooner than our next backoff step or the configured default.
                if retry_after is None:
                    retry_after = max(settings.GENESYS_DEFAULT_RETRY_AFTER_S, math.ceil(delay))
                error.retry_after = max(1, retry_after)
                error.headers["Retry-After"] = str(error.retry_after)
            raise error
        logger.info(
            "genesys_call_retry",
            endpoint=endpoint,
            method=method,
            outcome=outcome,
            attempt=attempt,
            delay_s=round(delay, 3),
            genesys_context_id=error.context_id,
        )
        clock.sleep(delay)


def _observe(endpoint: str, method: str, status: str, started: float) -> None:
    GENESYS_LATENCY.labels(endpoint, method, status).observe(time.perf_counter() - started)
    GENESYS_REQUESTS.labels(endpoint, method, status).inc()


# --- OAuth -------------------------------------------------------------------------------


# https://developer.genesys.cloud/authorization/platform-auth/use-client-credentials
def fetch_token(
    *,
    login_base_url: str,
    client_id: str,
    client_secret: str,
    sleep: Callable[[float], None] = time.sleep,
    monotonic: Callable[[], float] = time.monotonic,
) -> dict[str, Any]:
    """Client-credentials grant: `{access_token, token_type, expires_in}`.

    Repeating a token request is harmless, so 429/5xx/network errors are retried, but
    within one timeout's worth of budget: a token must not eat the whole API budget.
    """
    policy = RetryPolicy.from_settings(budget_s=settings.GENESYS_TIMEOUT_S)
    clock = _Clock(sleep=sleep, monotonic=monotonic, rng=random.Random())
    response = _send(
        method="POST",
        url=f"{login_base_url}/oauth/token",
        endpoint="/oauth/token",
        safe=True,
        policy=policy,
        clock=clock,
        deadline=monotonic() + policy.budget_s,
        token_endpoint=True,
        data={"grant_type": "client_credentials"},
        auth=(client_id, client_secret),
    )
    if response.status_code != 200:
        raise _error_from_response(response, token_endpoint=True)
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict) or not body.get("access_token"):
        raise GenesysAuthError("token response has no access_token", genesys_status=200)
    return body


class StaticToken:
    """A token obtained elsewhere (e.g. `tenant verify`'s fresh one); a refusal is final."""

    def __init__(self, token: str) -> None:
        self._token = token

    def token(self, *, rejected: str | None = None) -> str | None:
        return None if rejected is not None else self._token


# --- The client --------------------------------------------------------------------------


class GenesysClient:
    def __init__(
        self,
        *,
        base_url: str,
        token: str | None = None,
        token_source: TokenSource | None = None,
        rate_limiter: RateLimiter | None = None,
        policy: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        if token_source is None:
            if token is None:
                raise ValueError("GenesysClient needs a token or a token_source")
            token_source = StaticToken(token)
        self.base_url = base_url.rstrip("/")
        self._token_source = token_source
        self._rate_limiter = rate_limiter
        self._policy = policy or RetryPolicy.from_settings()
        self._clock = _Clock(sleep=sleep, monotonic=monotonic, rng=rng or random.Random())
        # Genesys' correlation id of the last answer, for logging what a 2xx body reports.
        self.last_context_id = ""

    def _call(
        self,
        method: str,
        endpoint: str,
        *,
        path: Mapping[str, str] | None = None,
        params: Any = None,
        json: Any = None,
        safe: bool,
    ) -> Any:
        """Call `endpoint` (a templated path, also the metrics label) and return its JSON."""
        url = self.base_url + endpoint.format(
            **{name: quote(value, safe="") for name, value in (path or {}).items()}
        )
        deadline = self._clock.monotonic() + self._policy.budget_s
        token = self._token_source.token()
        if token is None:
            raise GenesysAuthError("no access token available")
        for attempt in (1, 2):
            response = _send(
                method=method,
                url=url,
                endpoint=endpoint,
                safe=safe,
                policy=self._policy,
                clock=self._clock,
                deadline=deadline,
                limiter=self._rate_limiter,
                params=params,
                json=json,
                headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
            )
            if response.status_code in (401, 403) and attempt == 1:
                # Expired or revoked early (401), or a token minted before a role change
                # (403): one fresh token, one more try. Safe for any method: Genesys did
                # not process a request it refused. A second refusal is final, so a
                # misconfigured role costs one extra token request per call, no more.
                logger.info("genesys_token_rejected", endpoint=endpoint)
                fresh = self._token_source.token(rejected=token)
                if fresh is not None:
                    token = fresh
                    continue
            break
        self.last_context_id = response.headers.get("ININ-Correlation-Id", "")
        if not response.ok:
            error = _error_from_response(response)
            logger.warning(
                "genesys_call_failed",
                endpoint=endpoint,
                method=method,
                outcome=str(response.status_code),
                genesys_context_id=error.context_id,
                genesys_code=error.code,
                detail=error.message,
            )
            raise error
        if not response.content:
            return {}
        try:
            return response.json()
        except ValueError:
            raise GenesysPermanentError(
                f"{method} {endpoint}: answer is not JSON", genesys_status=response.status_code
            ) from None

    # https://developer.genesys.cloud/commdigital/digital/openmessaging/inboundMessages
    def send_inbound_message(self, *, integration_id: str, message: dict[str, Any]) -> Any:
        return self._call(
            "POST",
            "/api/v2/conversations/messages/{integrationId}/inbound/open/message",
            path={"integrationId": integration_id},
            params={"prefetchConversationId": "true"},
            json=message,
            safe=True,  # de-duplicated by Genesys on channel.messageId
        )

    # https://developer.genesys.cloud/routing/conversations/conversations-apis#post-api-v2-conversations-messages--integrationId--inbound-open-structured-response
    def send_inbound_structured_response(
        self, *, integration_id: str, message: dict[str, Any]
    ) -> Any:
        return self._call(
            "POST",
            "/api/v2/conversations/messages/{integrationId}/inbound/open/structured/response",
            path={"integrationId": integration_id},
            json=message,
            # Not repeated after a 5xx or a read timeout: nothing says Genesys
            # de-duplicates structured responses, and a doubled tap can drive a bot twice.
            safe=False,
        )

    # https://developer.genesys.cloud/commdigital/digital/openmessaging/inboundReceiptMessages
    def send_inbound_receipt(self, *, integration_id: str, receipt: dict[str, Any]) -> Any:
        return self._call(
            "POST",
            "/api/v2/conversations/messages/{integrationId}/inbound/open/receipt",
            path={"integrationId": integration_id},
            json=receipt,
            safe=True,
        )

    # https://developer.genesys.cloud/commdigital/digital/openmessaging/inboundEventMessages
    def send_inbound_event(self, *, integration_id: str, event: dict[str, Any]) -> Any:
        return self._call(
            "POST",
            "/api/v2/conversations/messages/{integrationId}/inbound/open/event",
            path={"integrationId": integration_id},
            json=event,
            safe=True,
        )

    # https://developer.genesys.cloud/routing/conversations/conversations-apis#get-api-v2-conversations--conversationId-
    def get_conversation(self, *, conversation_id: str) -> Any:
        return self._call(
            "GET",
            "/api/v2/conversations/{conversationId}",
            path={"conversationId": conversation_id},
            safe=True,
        )

    # https://developer.genesys.cloud/routing/conversations/conversations-apis#get-api-v2-conversations-messages--conversationId-
    def get_message_conversation(self, *, conversation_id: str) -> Any:
        return self._call(
            "GET",
            "/api/v2/conversations/messages/{conversationId}",
            path={"conversationId": conversation_id},
            safe=True,
        )

    # https://developer.genesys.cloud/routing/conversations/conversations-apis#post-api-v2-conversations-messages--conversationId--messages-bulk
    def get_messages_bulk(self, *, conversation_id: str, message_ids: Sequence[str]) -> Any:
        return self._call(
            "POST",
            "/api/v2/conversations/messages/{conversationId}/messages/bulk",
            path={"conversationId": conversation_id},
            params={"useNormalizedMessage": "true"},
            json=list(message_ids),
            safe=True,  # a read, though it is a POST
        )

    # https://developer.genesys.cloud/routing/conversations/conversations-apis#patch-api-v2-conversations-messages--conversationId--participants--participantId--attributes
    def patch_participant_attributes(
        self, *, conversation_id: str, participant_id: str, attributes: Mapping[str, str]
    ) -> Any:
        return self._call(
            "PATCH",
            "/api/v2/conversations/messages/{conversationId}/participants/{participantId}/attributes",
            path={"conversationId": conversation_id, "participantId": participant_id},
            json={"attributes": dict(attributes)},
            safe=False,
        )

    # https://developer.genesys.cloud/routing/conversations/conversations-apis#patch-api-v2-conversations-messages--conversationId-
    def disconnect_message_conversation(self, *, conversation_id: str) -> Any:
        return self._call(
            "PATCH",
            "/api/v2/conversations/messages/{conversationId}",
            path={"conversationId": conversation_id},
            json={"state": "disconnected"},
            safe=False,
        )

    # https://developer.genesys.cloud/organization/organization/#get-api-v2-organizations-me
    def get_organization(self) -> Any:
        return self._call("GET", "/api/v2/organizations/me", safe=True)

    # https://developer.genesys.cloud/useragentman/users/#get-api-v2-users
    def get_users(self, *, page_number: int, page_size: int, expand: Sequence[str] = ()) -> Any:
        params: list[tuple[str, str | int]] = [("pageSize", page_size), ("pageNumber", page_number)]
        params += [("expand", value) for value in expand]
        return self._call("GET", "/api/v2/users", params=params, safe=True)

    # https://developer.genesys.cloud/useragentman/users/#get-api-v2-users--userId-
    def get_user(self, *, user_id: str, expand: Sequence[str] = ()) -> Any:
        return self._call(
            "GET",
            "/api/v2/users/{userId}",
            path={"userId": user_id},
            params=[("expand", value) for value in expand],
            safe=True,
        )
