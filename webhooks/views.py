"""Webhook endpoints Genesys Cloud calls (docs/webhooks.md).

Plain Django views, because the signature is over the raw body: they check the size,
call a service and turn its outcome into a status code. Genesys retries 429, 5xx and
time-outs and gives up on other 4xx, so a 5xx here must only ever mean "try again".
"""

from collections.abc import Callable

import structlog
from django.db import DatabaseError, InterfaceError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from genesys_gateway.problems import ProblemError, problem_response
from webhooks.metrics import webhook_request_count
from webhooks.services import (
    WebhookReceipt,
    webhook_events_receive,
    webhook_open_messaging_receive,
)

logger = structlog.get_logger(__name__)

MAX_BODY_BYTES = 1024 * 1024
_READ_CHUNK = 64 * 1024
# Genesys waits 5 s between retries anyway; a hint for other senders.
RETRY_AFTER_S = "5"


_RESULTS = {400: "malformed", 401: "unauthorized", 404: "not_found"}
# Problems worth their own metric result, although their status is shared.
_SLUG_RESULTS = {"event-too-old": "stale"}


class BodyTooLarge(Exception):
    pass


class BodyUnreadable(Exception):
    pass


def request_body_read(request: HttpRequest, *, limit: int) -> bytes:
    """The raw body, refused beyond `limit` bytes before and while reading.

    Django's `request.body` is not used: it buffers up to DATA_UPLOAD_MAX_MEMORY_SIZE
    (2.5 MB) and reads nothing of a chunked body, which arrives without Content-Length;
    a WSGI server that de-chunks it says so with `wsgi.input_terminated`.
    """
    header = request.META.get("CONTENT_LENGTH") or ""
    if header:
        try:
            declared = int(header)
        except ValueError:
            declared = -1
        if declared > limit:
            raise BodyTooLarge
        stream = request
    elif request.META.get("wsgi.input_terminated"):
        stream = request.META["wsgi.input"]
    else:
        return b""
    chunks: list[bytes] = []
    size = 0
    while True:
        try:
            chunk = stream.read(min(_READ_CHUNK, limit + 1 - size))
        except OSError as exc:  # the sender went away mid-body (UnreadablePostError too)
            raise BodyUnreadable from exc
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
    return b"".join(chunks)


def _webhook(
    request: HttpRequest, *, endpoint: str, receive: Callable[[bytes], WebhookReceipt]
) -> HttpResponse:
    response, result = _webhook_answer(request, receive=receive)
    webhook_request_count(endpoint=endpoint, result=result)
    # The request middleware's line becomes the webhook's: one log line per webhook.
    request.log_event = "webhook"  # type: ignore[attr-defined]  # read by RequestIdMiddleware
    structlog.contextvars.bind_contextvars(endpoint=endpoint, result=result)
    return response


def _webhook_answer(
    request: HttpRequest, *, receive: Callable[[bytes], WebhookReceipt]
) -> tuple[HttpResponse, str]:
    if request.method != "POST":
        response = problem_response(
            status=405,
            title="Method not allowed",
            detail="Only POST is accepted.",
            slug="method-not-allowed",
            headers={"Allow": "POST"},
        )
        return response, "method_not_allowed"
    try:
        body = request_body_read(request, limit=MAX_BODY_BYTES)
    except BodyTooLarge:
        response = problem_response(
            status=413,
            title="Body too large",
            detail=f"Webhook bodies are limited to {MAX_BODY_BYTES} bytes.",
            slug="body-too-large",
        )
        return response, "too_large"
    except BodyUnreadable:
        response = problem_response(
            status=400,
            title="Malformed webhook",
            detail="The request body could not be read completely.",
            slug="malformed-webhook",
        )
        return response, "malformed"
    try:
        receipt = receive(body)
    except ProblemError as exc:
        response = problem_response(
            status=exc.status, title=exc.title, detail=exc.detail, slug=exc.slug
        )
        result = _SLUG_RESULTS.get(exc.slug) or _RESULTS.get(exc.status, exc.slug)
        return response, result
    except (DatabaseError, InterfaceError) as exc:
        # Nothing was committed: 503 makes Genesys deliver the webhook again.
        logger.warning("webhook.database_unavailable", error=str(exc))
        response = problem_response(
            status=503,
            title="Service unavailable",
            detail="The event could not be stored; retry later.",
            slug="database-unavailable",
            headers={"Retry-After": RETRY_AFTER_S},
        )
        return response, "unavailable"
    return JsonResponse({"result": receipt.result, "event_ids": receipt.event_ids}), receipt.result


@csrf_exempt
def genesys_open_messaging_webhook(request: HttpRequest) -> HttpResponse:
    # META, not request.headers: that builds a dict of every header first.
    signature = request.META.get("HTTP_X_HUB_SIGNATURE_256", "")
    return _webhook(
        request,
        endpoint="open_messaging",
        receive=lambda body: webhook_open_messaging_receive(body=body, signature=signature),
    )


@csrf_exempt
def genesys_events_webhook(request: HttpRequest) -> HttpResponse:
    signature = request.META.get("HTTP_X_HUB_SIGNATURE_256", "")
    authorization = request.META.get("HTTP_AUTHORIZATION", "")
    return _webhook(
        request,
        endpoint="events",
        receive=lambda body: webhook_events_receive(
            body=body, signature=signature, authorization=authorization
        ),
    )
