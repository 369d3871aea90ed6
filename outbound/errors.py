"""Our own API errors, and how a Genesys failure becomes one.

The API's one exception handler (genesys_gateway/problems.py) answers every ProblemError;
`genesys_problem` is registered with it (outbound/apps.py) for the Genesys exceptions,
which carry only what Genesys said.
"""

import math
from typing import Any

from django.conf import settings

from genesys_gateway.problems import ProblemError
from outbound.genesys.exceptions import (
    GenesysAuthError,
    GenesysBadRequestError,
    GenesysError,
    GenesysNotFoundError,
    GenesysRateLimitedError,
    GenesysTimeoutError,
    GenesysTransientError,
)


class IntegrationInvalid(ProblemError):
    """No usable Open Messaging integration for the request; `errors` names the field."""

    status = 400
    slug = "invalid-integration"
    title = "Invalid integration"


class AttachmentInvalid(ProblemError):
    """An attachment that contradicts its uploaded file (type); `errors` names the field."""

    status = 400
    slug = "invalid-attachment"
    title = "Invalid attachment"


class DeliveryInProgress(ProblemError):
    """A request with the same idempotency key is still talking to Genesys."""

    status = 409
    slug = "request-in-progress"
    title = "The same request is still in progress"


class CustomerParticipantNotFound(ProblemError):
    status = 404
    slug = "customer-participant-not-found"
    title = "The conversation has no customer participant"


class ConversationOfAnotherTenant(ProblemError):
    """The routing map gives the conversation to another tenant: answered with the type and
    title of a conversation Genesys does not know, so the caller learns nothing of it."""

    status = 404
    slug = "genesys-not-found"
    title = "Not found in Genesys Cloud"


class GenesysProblem(ProblemError):
    """A Genesys failure as our API answers it; status, slug and title come from the map."""

    def __init__(self, detail: str, *, status: int, slug: str, title: str, **kwargs: Any) -> None:
        super().__init__(detail, **kwargs)
        self.status = status
        self.slug = slug
        self.title = title


# Most specific first: (Genesys exception, our status, problem type slug, title).
_GENESYS_PROBLEMS: list[tuple[type[GenesysError], int, str, str]] = [
    (GenesysTimeoutError, 504, "genesys-timeout", "Genesys Cloud timed out"),
    (GenesysRateLimitedError, 503, "genesys-rate-limited", "Genesys Cloud rate limit reached"),
    (GenesysTransientError, 503, "genesys-unavailable", "Genesys Cloud unavailable"),
    (GenesysBadRequestError, 422, "genesys-rejected-request", "Genesys Cloud rejected the request"),
    (GenesysNotFoundError, 404, "genesys-not-found", "Not found in Genesys Cloud"),
    (
        GenesysAuthError,
        502,
        "genesys-auth-failed",
        "Genesys Cloud refused the gateway's credentials",
    ),
    (GenesysError, 502, "genesys-error", "Genesys Cloud error"),
]


def genesys_problem(exc: GenesysError) -> ProblemError:
    """The problem response for a Genesys failure, with Genesys' status, code and contextId."""
    status, slug, title = next(
        (status, slug, title)
        for exc_class, status, slug, title in _GENESYS_PROBLEMS
        if isinstance(exc, exc_class)
    )
    extra: dict[str, Any] = {}
    if exc.genesys_status:
        extra["genesys_status"] = exc.genesys_status
    if exc.code:
        extra["genesys_code"] = exc.code
    if exc.context_id:
        extra["genesys_context_id"] = exc.context_id
    headers = {"Retry-After": str(_retry_after_s(exc))} if status == 503 else {}
    return GenesysProblem(
        exc.message, status=status, slug=slug, title=title, extra=extra, headers=headers
    )


def _retry_after_s(exc: GenesysError) -> int:
    """Genesys' own figure (or our limiter's); else no sooner than the next backoff step
    or the configured default."""
    if exc.retry_after is not None:
        return max(1, exc.retry_after)
    backoff = math.ceil(exc.backoff_s or 0)
    return max(1, settings.GENESYS_DEFAULT_RETRY_AFTER_S, backoff)
