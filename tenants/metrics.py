"""Prometheus metrics of the routing map (served at /metrics)."""

from prometheus_client import Counter

CONVERSATION_CLAIM_CONFLICTS = Counter(
    "gateway_conversation_claim_conflicts",
    "Claims of a conversation already owned by another tenant; the first owner kept it.",
)


def conversation_claim_conflict_count() -> None:
    CONVERSATION_CLAIM_CONFLICTS.inc()
