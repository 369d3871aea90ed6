"""What every request passes: the request id, its log line and metrics, the pool check."""

import os
import re
import time
from collections.abc import Callable

import structlog
from django.conf import settings
from django.http import HttpRequest, HttpResponse

from genesys_gateway.logging import DirectLogger
from genesys_gateway.metrics import http_request_observe
from genesys_gateway.problems import problem_response

# The request line: the hottest log call of the service, so without structlog's layers.
request_logger = DirectLogger(__name__)

_ACCEPTABLE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


class RequestIdMiddleware:
    """The request id (bound to the log context, echoed in X-Request-ID), then one JSON
    line and one metric observation per request."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        # Keep a caller's id so one trace spans systems; invent one for anything odd.
        incoming = request.META.get("HTTP_X_REQUEST_ID", "")
        request_id = incoming if _ACCEPTABLE_ID.match(incoming) else os.urandom(16).hex()
        # Cleared once, on the way out (clearing walks every context variable the thread
        # has): a request always starts from the context its predecessor left empty.
        structlog.contextvars.bind_contextvars(request_id=request_id)
        try:
            response = self.get_response(request)
            response["X-Request-ID"] = request_id
            seconds = time.perf_counter() - started
            http_request_observe(request=request, status=response.status_code, seconds=seconds)
            # One line per request: a view may name it (the webhooks do) and bind its fields.
            request_logger.info(
                getattr(request, "log_event", "request"),
                method=request.method,
                path=request.path,
                status=response.status_code,
                duration_ms=round(seconds * 1000, 1),
            )
        finally:
            structlog.contextvars.clear_contextvars()
        return response


class ContentLengthGuardMiddleware:
    """Answer 400 to a malformed Content-Length before anything parses it.

    Code that reads the body calls int() on the header; refused here, such a request
    can never turn into a 500 further in.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        length = request.META.get("CONTENT_LENGTH", "")
        if length and not (length.isascii() and length.isdigit()):
            return problem_response(
                status=400,
                title="Malformed request",
                detail="Content-Length must be a non-negative integer.",
                slug="malformed-request",
            )
        return self.get_response(request)


# Paths every pool serves: probes and metrics of the process itself.
_ANY_POOL = ("/healthz", "/readyz", "/metrics")


class PoolRoutingMiddleware:
    """Keep each gunicorn service to its own traffic (GATEWAY_POOL, docs/operations.md).

    Webhooks and the API run in separate worker pools so a slow Genesys, which holds API
    threads, never holds a webhook. A request sent to the wrong service is refused with
    421 rather than served, so a misconfigured caller shows up at once instead of
    quietly sharing the other pool's threads.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.pool = settings.GATEWAY_POOL

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if self.pool != "all" and not request.path.startswith(_ANY_POOL):
            is_webhook = request.path.startswith("/webhooks/")
            if is_webhook != (self.pool == "webhooks"):
                return problem_response(
                    status=421,
                    title="Wrong service",
                    detail=f"This is the gateway's {self.pool} service; "
                    f"{request.path} is served by the other one.",
                    slug="wrong-service",
                )
        return self.get_response(request)
