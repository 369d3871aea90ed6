"""Prometheus exposition that works with several gunicorn workers.

With PROMETHEUS_MULTIPROC_DIR set, each worker writes its samples there and the scrape
merges them; without it (runserver, tests) the process's own registry is served. Gauges
that describe the database (outbox depth, oldest age) are computed at scrape time by the
collectors named in settings.METRICS_SCRAPE_COLLECTORS, so every worker reports the same;
their text is computed at most once per METRICS_DB_CACHE_S in each process, so scrapes
(the endpoint needs no credentials) cannot load the database.
"""

import os

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.module_loading import import_string
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    generate_latest,
    multiprocess,
)

from genesys_gateway.ttl_cache import TtlCache


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
