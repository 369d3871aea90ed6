"""Prometheus exposition that works with several gunicorn workers.

With PROMETHEUS_MULTIPROC_DIR set, each worker writes its samples there and the scrape
merges them; without it (runserver, tests) the process's own registry is served. Gauges
that describe the database (outbox depth, oldest age) are computed at scrape time by the
collectors named in settings.METRICS_SCRAPE_COLLECTORS, so every worker reports the same.
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


def metrics_view(request: HttpRequest) -> HttpResponse:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    output = generate_latest(registry)
    scrape_registry = CollectorRegistry()
    for path in getattr(settings, "METRICS_SCRAPE_COLLECTORS", []):
        scrape_registry.register(import_string(path)())
    output += generate_latest(scrape_registry)
    return HttpResponse(output, content_type=CONTENT_TYPE_LATEST)
