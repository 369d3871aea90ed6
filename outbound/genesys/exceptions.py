"""What went wrong talking to Genesys Cloud, as Genesys facts only.

These carry what Genesys said (its status, error code, contextId, Retry-After) and nothing
about our own API: outbound/errors.py turns them into problem responses. The classes are
split by whether repeating the request can help.
"""

import email.utils
import math
import time

import requests


class GenesysError(Exception):
    """Genesys answered with an error, or not at all."""

    def __init__(
        self,
        message: str,
        *,
        genesys_status: int | None = None,
        context_id: str = "",
        code: str = "",
        retry_after: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.genesys_status = genesys_status
        self.context_id = context_id
        self.code = code
        # Seconds before a retry makes sense, when known: Genesys' Retry-After header, or
        # the wait our own rate limiter computed.
        self.retry_after = retry_after
        # The transport's next backoff step when it gave up without a Retry-After.
        self.backoff_s: float | None = None
        # Set by the transport when it gives up: whether sending the same request again is
        # safe (Genesys did not process it, or it is resent with the same
        # channel.messageId: docs/api.md, "Sends that never double"). False for an unsafe
        # request whose outcome is unknown (a read timeout on a structured response).
        self.safe_to_repeat: bool | None = None


class GenesysTransientError(GenesysError):
    """Timeouts, connection errors, 429 and 5xx: a later retry may succeed."""


class GenesysRateLimitedError(GenesysTransientError):
    """Genesys answered 429, or our own limiter would have to wait too long."""


class GenesysTimeoutError(GenesysTransientError):
    """No answer in time (or a 504 from Genesys)."""


class GenesysBadAnswerError(GenesysError):
    """An answer we cannot use: a broken transfer, invalid JSON, a body of the wrong shape,
    a redirect (never followed)."""


class GenesysPermanentError(GenesysError):
    """400, 401, 403, 404 and other 4xx: repeating the request will not help."""


class GenesysBadRequestError(GenesysPermanentError):
    """Genesys rejected the request's content (400)."""


class GenesysNotFoundError(GenesysPermanentError):
    """The addressed Genesys resource does not exist (404)."""


class GenesysAuthError(GenesysPermanentError):
    """Genesys refused the gateway's credentials or token, even after a fresh token."""


def retry_after_parse(value: str | None) -> int | None:
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


def error_from_response(
    response: requests.Response, *, token_endpoint: bool = False
) -> GenesysError:
    """The exception for a Genesys error answer (4xx or 5xx)."""
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
    return _error_class(response.status_code, token_endpoint=token_endpoint)(
        message,
        genesys_status=response.status_code,
        context_id=context_id,
        code=code,
        retry_after=retry_after_parse(response.headers.get("Retry-After")),
    )


def _error_class(status: int, *, token_endpoint: bool) -> type[GenesysError]:
    if status == 429:
        return GenesysRateLimitedError
    if status == 504:
        return GenesysTimeoutError
    if status >= 500:
        return GenesysTransientError
    if status in (401, 403) or token_endpoint:
        return GenesysAuthError
    if status == 404:
        return GenesysNotFoundError
    if status == 400:
        return GenesysBadRequestError
    return GenesysPermanentError
