"""RFC 9457 problem details: the one place where errors become HTTP responses."""

from collections.abc import Callable
from typing import Any, TypeVar

import structlog
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, JsonResponse
from rest_framework import exceptions as drf_exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_default_handler

logger = structlog.get_logger(__name__)

PROBLEM_CONTENT_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "https://genesys-gateway.dev/problems/"


def problem_type(slug: str) -> str:
    return PROBLEM_TYPE_BASE + slug


class ProblemError(Exception):
    """A domain error that knows its HTTP answer. Subclass it; views never catch it."""

    status = 500
    slug = "internal-error"
    title = "Internal error"

    def __init__(
        self,
        detail: str = "",
        *,
        errors: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.errors = errors
        self.headers = headers or {}
        self.extra = extra or {}


def problem_body(
    *, status: int, title: str, detail: str, slug: str, errors: Any = None, **extra: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": problem_type(slug),
        "title": title,
        "status": status,
        "detail": detail,
    }
    if errors:
        body["errors"] = errors
    body.update(extra)
    return body


def problem_response(
    *,
    status: int,
    title: str,
    detail: str,
    slug: str,
    errors: Any = None,
    headers: dict[str, str] | None = None,
) -> JsonResponse:
    """A problem response for plain Django views (webhooks, health, handlers)."""
    response = JsonResponse(
        problem_body(status=status, title=title, detail=detail, slug=slug, errors=errors),
        status=status,
        content_type=PROBLEM_CONTENT_TYPE,
    )
    for name, value in (headers or {}).items():
        response[name] = value
    return response


_E = TypeVar("_E", bound=Exception)
# Another app's exception class -> the function that turns it into a ProblemError.
_PROBLEM_MAPPERS: list[tuple[type[Exception], Callable[[Any], ProblemError]]] = []


def problem_mapper_register(exc_class: type[_E], mapper: Callable[[_E], ProblemError]) -> None:
    """Answer `exc_class` (and subclasses) with `mapper(exc)`'s problem.

    For exceptions that must not know our API (an HTTP client's, say); the app that owns
    both registers the pair when it is ready, so this module imports no app.
    """
    if (exc_class, mapper) not in _PROBLEM_MAPPERS:
        _PROBLEM_MAPPERS.append((exc_class, mapper))


def _as_problem(exc: Exception) -> Exception:
    for exc_class, mapper in _PROBLEM_MAPPERS:
        if isinstance(exc, exc_class):
            return mapper(exc)
    return exc


# DRF exception class -> (slug, title). Status comes from the exception itself.
_DRF_PROBLEMS: list[tuple[type[Exception], str, str]] = [
    (drf_exceptions.ValidationError, "validation-error", "Invalid request"),
    (drf_exceptions.ParseError, "malformed-request", "Malformed request"),
    (drf_exceptions.NotAuthenticated, "not-authenticated", "Not authenticated"),
    (drf_exceptions.AuthenticationFailed, "not-authenticated", "Not authenticated"),
    (drf_exceptions.NotFound, "not-found", "Not found"),
    (drf_exceptions.PermissionDenied, "forbidden", "Forbidden"),
    (drf_exceptions.MethodNotAllowed, "method-not-allowed", "Method not allowed"),
    (drf_exceptions.UnsupportedMediaType, "unsupported-media-type", "Unsupported media type"),
    (drf_exceptions.NotAcceptable, "not-acceptable", "Not acceptable"),
    (drf_exceptions.Throttled, "rate-limited", "Too many requests"),
]


def _validation_errors(detail: Any) -> dict[str, Any]:
    if isinstance(detail, dict):
        return detail
    return {"non_field_errors": detail if isinstance(detail, list) else [detail]}


def problem_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF EXCEPTION_HANDLER: every error as application/problem+json."""
    exc = _as_problem(exc)
    if isinstance(exc, ProblemError):
        if exc.status >= 500:
            logger.warning("problem", slug=exc.slug, status=exc.status, detail=exc.detail)
        body = problem_body(
            status=exc.status,
            title=exc.title,
            detail=exc.detail,
            slug=exc.slug,
            errors=exc.errors,
            **exc.extra,
        )
        return Response(
            body, status=exc.status, headers=exc.headers, content_type=PROBLEM_CONTENT_TYPE
        )
    if isinstance(exc, Http404):
        exc = drf_exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = drf_exceptions.PermissionDenied()
    response = drf_default_handler(exc, context)
    if response is None:
        return None  # unexpected: stays a 500 and reaches the logs
    # Any other APIException names itself: its default_code as the slug, its `title`.
    slug = str(getattr(exc, "default_code", "error")).replace("_", "-")
    title = str(getattr(exc, "title", "Error"))
    for exc_class, exc_slug, exc_title in _DRF_PROBLEMS:
        if isinstance(exc, exc_class):
            slug, title = exc_slug, exc_title
            break
    errors = None
    if isinstance(exc, drf_exceptions.ValidationError):
        errors = _validation_errors(exc.detail)
        detail = "The request body has invalid fields; see errors."
    else:
        detail = str(getattr(exc, "detail", exc))
    response.data = problem_body(
        status=response.status_code, title=title, detail=detail, slug=slug, errors=errors
    )
    response.content_type = PROBLEM_CONTENT_TYPE
    return response


# Django-level handlers, so nothing answers with an HTML error page.
def handler400(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return problem_response(
        status=400, title="Bad request", detail="The request was malformed.", slug="bad-request"
    )


def handler403(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return problem_response(
        status=403, title="Forbidden", detail="Access denied.", slug="forbidden"
    )


def handler404(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return problem_response(
        status=404, title="Not found", detail="No such resource.", slug="not-found"
    )


def handler500(request: HttpRequest) -> JsonResponse:
    return problem_response(
        status=500,
        title="Internal error",
        detail="An unexpected error occurred; it has been logged.",
        slug="internal-error",
    )
