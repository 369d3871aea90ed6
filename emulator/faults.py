"""Fault switches: make the next N Genesys API calls fail or slow down (POST /emulator/faults)."""

from __future__ import annotations

import time
import uuid
from typing import Any

from emulator.errors import ApiError
from emulator.state import State

KINDS = ("400", "429", "500", "503", "slow", "expire_tokens")


def fault_add(state: State, spec: dict[str, Any]) -> dict[str, Any]:
    """Add a rule; `expire_tokens` acts at once (every issued token stops working)."""
    kind = str(spec.get("kind", ""))
    if kind not in KINDS:
        raise ApiError(400, f"kind must be one of {', '.join(KINDS)}")
    if kind == "expire_tokens":
        return {"kind": kind, "expired": state.tokens_expire()}
    duration_ms = int(spec.get("duration_ms", 0))
    # With a duration the rule lasts that long, however many calls it meets.
    count = int(spec.get("count", 1 if not duration_ms else 10**9))
    if count < 1 or duration_ms < 0:
        raise ApiError(400, "count must be at least 1 and duration_ms not negative")
    rule = {
        "id": str(uuid.uuid4()),
        "kind": kind,
        "remaining": count,
        "path_prefix": str(spec.get("path_prefix") or ""),
        "retry_after": int(spec.get("retry_after", 1)),
        "delay_ms": int(spec.get("delay_ms", 0 if kind != "slow" else 2000)),
        "until": time.monotonic() + duration_ms / 1000 if duration_ms else None,
    }
    with state.lock:
        state.faults.append(rule)
    return rule


def fault_take(state: State, path: str) -> tuple[float, ApiError | None]:
    """Consume the rules matching this call: (seconds to delay, error to answer or None)."""
    delay = 0.0
    with state.lock:
        for rule in list(state.faults):
            if rule.get("until") is not None and time.monotonic() >= rule["until"]:
                state.faults.remove(rule)
                continue
            if not path.startswith(rule["path_prefix"]):
                continue
            rule["remaining"] -= 1
            if rule["remaining"] <= 0:
                state.faults.remove(rule)
            if rule["kind"] == "slow":
                delay += rule["delay_ms"] / 1000
                continue
            return delay, _fault_error(rule)
    return delay, None


def _fault_error(rule: dict[str, Any]) -> ApiError:
    if rule["kind"] == "429":
        key = "client.credentials.token.rate.per.minute"
        message = f"Rate limit exceeded the maximum. [300] requests for [{key}]"
        return ApiError(
            429,
            message,
            headers={"Retry-After": str(rule["retry_after"])},
            extra={
                "messageWithParams": (
                    "Rate limit exceeded the maximum. [{limit}] requests for [{key}]"
                ),
                "messageParams": {"limit": "300", "key": key},
                "limit": {"key": key, "namespace": "platform.api", "value": 300},
            },
        )
    status = int(rule["kind"])
    if status == 400:
        return ApiError(400, "The request could not be understood.", code="bad.request")
    return ApiError(
        status,
        "The service is currently unavailable."
        if status == 503
        else "The server encountered an unexpected error.",
        code="service.unavailable" if status == 503 else "internal.server.error",
    )
