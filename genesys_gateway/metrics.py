"""Prometheus exposition that works with several gunicorn workers.

With PROMETHEUS_MULTIPROC_DIR set, each worker writes its samples there and the scrape
merges them; without it (runserver, tests) the process's own registry is served. Gauges
that describe the database (outbox depth, oldest age) are computed at scrape time by the
collectors named in settings.METRICS_SCRAPE_COLLECTORS, so every worker reports the same;
their text is computed at most once per METRICS_DB_CACHE_S in each process, so scrapes
(the endpoint needs no credentials) cannot load the database.

Every HTTP request is one observation of one histogram (`http_request_observe`, called by
the request middleware): its `_count` counts requests by pool, method, view and status.
"""

import os
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.module_loading import import_string
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Histogram,
    generate_latest,
    multiprocess,
)

from genesys_gateway.ttl_cache import TtlCache

HTTP_REQUEST_DURATION = Histogram(
    "gateway_http_request_duration_seconds",
    "Time to answer an HTTP request by service pool, method, view (URL name) and status; "
    "its _count counts the requests.",
    ["pool", "method", "view", "status"],
)
# Any other method is "other": a label value per made-up method would grow without end.
_HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# The labelled children by (method, view, status): labels() validates and locks each time.
_http_children: dict[tuple[str, str, int], Any] = {}


def http_request_observe(*, request: HttpRequest, status: int, seconds: float) -> None:
    """Count one answered request and its duration: two sample updates, whatever the view."""
    match = request.resolver_match
    view = match.view_name if match is not None else "unmatched"
    method = request.method if request.method in _HTTP_METHODS else "other"
    key = (method or "other", view, status)
    child = _http_children.get(key)
    if child is None:
        child = HTTP_REQUEST_DURATION.labels(settings.GATEWAY_POOL, key[0], view, str(status))
        _http_children[key] = child
    child.observe(seconds)


def scrape_collectors_text() -> bytes:
    """Exposition of the collectors that read the database (settings.METRICS_SCRAPE_COLLECTORS)."""
    registry = CollectorRegistry()
    for path in getattr(settings, "METRICS_SCRAPE_COLLECTORS", []):
        registry.register(import_string(path)())
    return generate_latest(registry)


SCRAPE_COLLECTORS = TtlCache(scrape_collectors_text)


def metrics_view(request: HttpRequest) -> HttpResponse:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    output = generate_latest(registry)
    output += SCRAPE_COLLECTORS.get(ttl_s=settings.METRICS_DB_CACHE_S)
    return HttpResponse(output, content_type=CONTENT_TYPE_LATEST)
