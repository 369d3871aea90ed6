"""Signed webhook delivery to the gateway, retried the way Genesys retries.

Genesys waits 10 s for an answer and retries a time-out, 429 or 5xx up to 5 times, 5 s apart;
any other 4xx is final (developer.genesys.cloud/commdigital/digital/openmessaging/validate).
The emulator keeps that schedule (timeout, retries and delay are configurable so tests can run
it in milliseconds). A refused connection counts as a time-out: the gateway being down is what
the retries exist for.

Deliveries run in order on one worker thread, like one Genesys sender per integration: a
retrying delivery holds back the ones behind it, so the gateway sees each conversation's
events in order.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import queue
import threading
import time
import uuid
from typing import Any

import requests

from emulator.clock import now_iso
from emulator.state import State

SIGNATURE_HEADER = "X-Hub-Signature-256"
logger = logging.getLogger("emulator.webhooks")


def sign(secret: str, body: bytes) -> str:
    """X-Hub-Signature-256 value: 'sha256=' + base64(HMAC-SHA256(secret, raw body))."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return "sha256=" + base64.b64encode(digest).decode()


def encode(payload: dict[str, Any]) -> bytes:
    """Compact JSON, as Genesys' sample signs JSON.stringify(body)."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


class WebhookSender:
    """Queue of deliveries, sent in order by one worker thread, each recorded in State."""

    def __init__(self, state: State) -> None:
        self.state = state
        self.session = requests.Session()
        self.queue: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self.done: dict[str, threading.Event] = {}
        self.worker = threading.Thread(target=self._run, name="emulator-webhooks", daemon=True)
        self.worker.start()

    def send(
        self,
        *,
        kind: str,
        url: str,
        secret: str,
        payload: dict[str, Any],
        headers: dict[str, str] | None = None,
        signed: bool = True,
    ) -> dict[str, Any]:
        """Queue one (signed) delivery; returns its record (see GET /emulator/deliveries)."""
        body = encode(payload)
        signature = {SIGNATURE_HEADER: sign(secret, body)} if signed else {}
        delivery: dict[str, Any] = {
            "id": str(uuid.uuid4()),
            "kind": kind,
            "url": url,
            "queued_at": now_iso(),
            "headers": {
                **(headers or {}),
                "Content-Type": "application/json",
                **signature,
            },
            "payload": payload,
            "body": body.decode(),
            "attempts": [],
            "outcome": "pending",
        }
        with self.state.lock:
            self.state.log_delivery(delivery)
            self.done[delivery["id"]] = threading.Event()
        self.queue.put(delivery)
        return delivery

    def wait(self, delivery_id: str, timeout: float | None = None) -> bool:
        """Block until the delivery succeeded or failed for good; False on timeout."""
        with self.state.lock:
            event = self.done.get(delivery_id)
        return True if event is None else event.wait(timeout)

    def stop(self) -> None:
        self.queue.put(None)
        self.worker.join(timeout=5)
        self.session.close()

    def _run(self) -> None:
        while True:
            delivery = self.queue.get()
            if delivery is None:
                return
            try:
                self._deliver(delivery)
            finally:
                with self.state.lock:
                    event = self.done.pop(delivery["id"], None)
                if event is not None:
                    event.set()

    def _deliver(self, delivery: dict[str, Any]) -> None:
        config = self.state.config
        for attempt in range(1, config.webhook_retries + 2):
            started = time.monotonic()
            record: dict[str, Any] = {"attempt": attempt, "at": now_iso()}
            retryable = False
            try:
                response = self.session.post(
                    delivery["url"],
                    data=delivery["body"].encode(),
                    headers=delivery["headers"],
                    timeout=config.webhook_timeout,
                )
                record["status"] = response.status_code
                record["response"] = response.text[:500]
                retryable = response.status_code == 429 or response.status_code >= 500
                ok = 200 <= response.status_code < 300
            except requests.RequestException as exc:
                record["error"] = f"{type(exc).__name__}: {exc}"[:500]
                retryable, ok = True, False
            record["duration_ms"] = int((time.monotonic() - started) * 1000)
            logger.info(
                "%s webhook %s attempt %d -> %s",
                delivery["kind"],
                _describe(delivery["payload"]),
                attempt,
                record.get("status") or record.get("error"),
            )
            with self.state.lock:
                delivery["attempts"].append(record)
                if ok:
                    delivery["outcome"] = "delivered"
                elif not retryable:
                    delivery["outcome"] = "rejected"
                elif attempt > config.webhook_retries:
                    delivery["outcome"] = "failed"
            if delivery["outcome"] != "pending":
                return
            time.sleep(config.webhook_retry_delay)


def _describe(payload: dict[str, Any]) -> str:
    """A short label for logs: the notification topic, or the message type and id."""
    detail = payload.get("detail")
    if not isinstance(detail, dict):
        detail = payload
    if "topicName" in detail:
        return str(detail["topicName"])
    return f"{payload.get('type')} {payload.get('id')}"
