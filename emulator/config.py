"""Emulator settings: one default organisation, OAuth client and integration."""

from __future__ import annotations

import os
from dataclasses import dataclass, fields

DEFAULT_INTEGRATION_ID = "6f1c2a9e-3b7d-4c1e-9a52-0d8e4b7f1a23"
DEFAULT_ORG_ID = "8a4d2c61-5f3b-4e97-b0c8-7d1e9a2f6b45"


@dataclass
class Config:
    """Everything `python -m emulator` can set by flag or EMULATOR_* environment variable."""

    host: str = "127.0.0.1"
    port: int = 8100
    gateway_url: str = "http://127.0.0.1:8000"
    client_id: str = "emulator-client"
    client_secret: str = "emulator-client-secret-0123456789"
    integration_id: str = DEFAULT_INTEGRATION_ID
    integration_name: str = "WhatsApp Bridge (emulator)"
    # Empty means "<gateway-url>/webhooks/genesys/open-messaging" and ".../events".
    webhook_url: str = ""
    webhook_secret: str = "emulator-webhook-secret-0123456789"
    events_url: str = ""
    events_secret: str = "emulator-events-secret-0123456789"
    org_id: str = DEFAULT_ORG_ID
    org_name: str = "Emulated Org"
    seed: int = 7
    user_count: int = 300
    token_ttl: int = 86400
    # Genesys: wait 10 s for an answer, retry 429/5xx/time-outs up to 5 times, 5 s apart.
    webhook_timeout: float = 10.0
    webhook_retries: int = 5
    webhook_retry_delay: float = 5.0
    # Send acd.start/user.start notifications when a new conversation is routed to an agent.
    notify_routing: bool = False
    eventbridge_suffix: str = "genesys-gateway"
    # How notifications authenticate: "signature" (X-Hub-Signature-256 keyed by the events
    # secret), "bearer" (the secret as Authorization: Bearer, like an EventBridge API
    # destination that cannot sign) or "both".
    events_auth: str = "signature"
    state_file: str = ""

    def resolved_webhook_url(self) -> str:
        return self.webhook_url or f"{self.gateway_url.rstrip('/')}/webhooks/genesys/open-messaging"

    def resolved_events_url(self) -> str:
        return self.events_url or f"{self.gateway_url.rstrip('/')}/webhooks/genesys/events"

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Config:
        """Defaults overridden by EMULATOR_<FIELD> variables (e.g. EMULATOR_CLIENT_SECRET)."""
        environ = dict(os.environ if environ is None else environ)
        config = cls()
        for item in fields(cls):
            raw = environ.get(f"EMULATOR_{item.name.upper()}")
            if raw is None:
                continue
            current = getattr(config, item.name)
            value: object = raw
            if isinstance(current, bool):
                value = raw.lower() in ("1", "true", "yes", "on")
            elif isinstance(current, int):
                value = int(raw)
            elif isinstance(current, float):
                value = float(raw)
            setattr(config, item.name, value)
        return config
