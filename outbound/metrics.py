"""Prometheus metrics of the WABA -> Genesys direction that are not per HTTP attempt."""

from prometheus_client import Counter

GENESYS_RECEIPTS_FAILED = Counter(
    "gateway_genesys_receipts_failed",
    "Receipts Genesys accepted (2xx) but answered as Failed, i.e. could not apply.",
)
