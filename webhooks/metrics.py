"""Prometheus metrics of the webhook endpoints (served at /metrics)."""

from prometheus_client import Counter

WEBHOOK_REQUESTS = Counter(
    "gateway_webhook_requests",
    "Webhook requests from Genesys, by endpoint and result.",
    ["endpoint", "result"],
)


def webhook_request_count(*, endpoint: str, result: str) -> None:
    WEBHOOK_REQUESTS.labels(endpoint, result).inc()  # positional: labels(**kw) costs more
