"""Prometheus metrics of the outbox relay.

Depth and oldest pending age describe the database, so they are computed at scrape time
(`OutboxCollector`, listed in settings.METRICS_SCRAPE_COLLECTORS) and every web worker
reports the same. Latency and counters are recorded by the process that publishes; with
Celery workers they reach /metrics when workers and web share PROMETHEUS_MULTIPROC_DIR.
"""

from collections.abc import Iterator

import structlog
from django.db.models import Count, Min
from django.utils import timezone
from prometheus_client import Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from webhooks.models import OutboxMessage

logger = structlog.get_logger(__name__)

PUBLISH_LATENCY = Histogram(
    "gateway_outbox_publish_latency_seconds",
    "From the outbox row's creation to the broker's confirm.",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800),
)
PUBLISHED = Counter("gateway_outbox_published", "Outbox rows confirmed by the broker.")
PUBLISH_FAILURES = Counter(
    "gateway_outbox_publish_failures",
    "Outbox publications the broker rejected or returned (each spends one attempt).",
)
DEAD_LETTERED = Counter(
    "gateway_outbox_dead_lettered", "Outbox rows that used up their retry budget."
)


class OutboxCollector(Collector):
    """Outbox depth, dead rows and oldest pending age, read from the database per scrape.

    A scrape must still answer when the database does not: the rest of /metrics is what
    shows the outage. Then only `gateway_outbox_metrics_up` 0 is reported from here.
    """

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            pending = OutboxMessage.objects.filter(status=OutboxMessage.Status.PENDING).aggregate(
                count=Count("id"), oldest=Min("created_at")
            )
            dead = OutboxMessage.objects.filter(status=OutboxMessage.Status.DEAD).count()
        except Exception as exc:  # any database failure (or no database at all)
            logger.warning("relay.metrics_unavailable", error=repr(exc))
            yield GaugeMetricFamily(
                "gateway_outbox_metrics_up", "1 when the outbox gauges could be read.", value=0
            )
            return
        oldest = pending["oldest"]
        age = (timezone.now() - oldest).total_seconds() if oldest is not None else 0.0
        yield GaugeMetricFamily(
            "gateway_outbox_metrics_up", "1 when the outbox gauges could be read.", value=1
        )
        yield GaugeMetricFamily(
            "gateway_outbox_pending", "Outbox rows waiting to be published.", value=pending["count"]
        )
        yield GaugeMetricFamily(
            "gateway_outbox_oldest_pending_age_seconds",
            "Age of the oldest pending outbox row (0 when none).",
            value=max(0.0, age),
        )
        yield GaugeMetricFamily(
            "gateway_outbox_dead", "Dead-lettered outbox rows waiting for a replay.", value=dead
        )
