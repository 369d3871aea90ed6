"""In-memory, thread-safe state of the emulated Genesys Cloud organisation.

Everything lives in plain dicts guarded by one re-entrant lock, so a snapshot can be written
to a JSON file (--state-file) and read back on the next start.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from emulator import directory
from emulator.clock import now_iso
from emulator.config import Config
from emulator.errors import ApiError, not_found
from emulator.filestore import files_initial

# The request and delivery logs keep this many newest entries, so a long demo stays small.
LOG_LIMIT = 10_000


class State:
    """The organisation, its agents, integrations, conversations and the emulator's logs."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.lock = threading.RLock()
        # Where the emulator is reached (its own file links); set again once it listens.
        self.public_url = f"http://{config.host}:{config.port}"
        self.reset()

    def reset(self) -> None:
        """Back to the configured start: no tokens, conversations, logs or faults."""
        with self.lock:
            config = self.config
            self.org = directory.organization(org_id=config.org_id, name=config.org_name)
            self.users = directory.generate_users(
                seed=config.seed, count=config.user_count, domain=self.org["domain"]
            )
            self.users_by_id = {user["id"]: user for user in self.users}
            self.clients: dict[str, dict[str, Any]] = {
                config.client_id: {"secret": config.client_secret, "ttl": config.token_ttl}
            }
            self.tokens: dict[str, dict[str, Any]] = {}
            self.integrations: dict[str, dict[str, Any]] = {}
            self.integration_create(
                {
                    "name": config.integration_name,
                    "outboundNotificationWebhookUrl": config.resolved_webhook_url(),
                    "outboundNotificationWebhookSignatureSecretToken": config.webhook_secret,
                },
                integration_id=config.integration_id,
            )
            self.events_url = config.resolved_events_url()
            self.events_secret = config.events_secret
            self.conversations: dict[str, dict[str, Any]] = {}
            self.inbound_seen: dict[str, dict[str, Any]] = {}
            self.requests: list[dict[str, Any]] = []
            self.requests_seen = 0
            self.deliveries: list[dict[str, Any]] = []
            self.faults: list[dict[str, Any]] = []
            self.next_agent = 0
            # name -> file record (emulator.filestore); the bytes live in memory only.
            self.files: dict[str, dict[str, Any]] = files_initial()

    # ----- OAuth -----------------------------------------------------------------------

    def token_issue(self, client_id: str, client_secret: str) -> dict[str, Any]:
        with self.lock:
            client = self.clients.get(client_id)
            if client is None or not secrets.compare_digest(client["secret"], client_secret):
                raise ApiError(401, "invalid_client")
            token = secrets.token_urlsafe(32)
            ttl = int(client["ttl"])
            self.tokens[token] = {"client_id": client_id, "expires_at": time.time() + ttl}
            return {"access_token": token, "token_type": "bearer", "expires_in": ttl}

    def token_check(self, authorization: str | None) -> str:
        """The client id a bearer token belongs to; ApiError 401 otherwise."""
        if not authorization or not authorization.lower().startswith("bearer "):
            raise ApiError(
                401,
                "No authentication bearer token specified in authorization header.",
                code="authentication.required",
            )
        token = authorization[7:].strip()
        with self.lock:
            entry = self.tokens.get(token)
            if entry is None or entry["expires_at"] <= time.time():
                self.tokens.pop(token, None)
                raise ApiError(401, "Invalid login credentials.", code="bad.credentials")
            return str(entry["client_id"])

    def tokens_expire(self) -> int:
        with self.lock:
            count = len(self.tokens)
            self.tokens.clear()
            return count

    # ----- integrations ----------------------------------------------------------------

    def integration_create(
        self, body: dict[str, Any], *, integration_id: str | None = None
    ) -> dict[str, Any]:
        with self.lock:
            integration_id = integration_id or str(uuid.uuid4())
            now = now_iso()
            integration = {
                "id": integration_id,
                "name": body["name"],
                "outboundNotificationWebhookUrl": body["outboundNotificationWebhookUrl"],
                "outboundNotificationWebhookSignatureSecretToken": body[
                    "outboundNotificationWebhookSignatureSecretToken"
                ],
                "webhookHeaders": body.get("webhookHeaders") or {},
                "status": "Active",
                "recipient": {
                    "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"recipient/{integration_id}")),
                    "selfUri": f"/api/v2/routing/message/recipients/{integration_id}",
                },
                "dateCreated": now,
                "dateModified": now,
                # Creation is asynchronous at Genesys; the emulator completes it at once.
                "createStatus": "Completed",
                "selfUri": f"/api/v2/conversations/messaging/integrations/open/{integration_id}",
            }
            for key in ("supportedContent", "messagingSetting"):
                if body.get(key):
                    integration[key] = dict(body[key])
            self.integrations[integration_id] = integration
            return integration

    def integration_get(self, integration_id: str) -> dict[str, Any]:
        with self.lock:
            integration = self.integrations.get(integration_id)
            if integration is None:
                raise not_found("integration")
            return integration

    def integration_update(self, integration_id: str, body: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            integration = self.integration_get(integration_id)
            for key, value in body.items():
                if key in ("id", "selfUri") or value is None:
                    continue
                integration[key] = value
            integration["dateModified"] = now_iso()
            return integration

    # ----- users -------------------------------------------------------------------------

    def user_get(self, user_id: str) -> dict[str, Any]:
        user = self.users_by_id.get(user_id)
        if user is None:
            raise not_found("user")
        return user

    def user_pick_available(self, exclude: set[str] | None = None) -> dict[str, Any]:
        """The next active agent in round-robin order, preferring those on queue."""
        with self.lock:
            candidates = [
                user
                for user in self.users
                if user["state"] == "active" and user["id"] not in (exclude or set())
            ]
            on_queue = [u for u in candidates if u["_presence"]["systemPresence"] == "On Queue"]
            pool = on_queue or candidates
            user = pool[self.next_agent % len(pool)]
            self.next_agent += 1
            return user

    # ----- conversations ---------------------------------------------------------------

    def conversation_get(self, conversation_id: str) -> dict[str, Any]:
        with self.lock:
            conversation = self.conversations.get(conversation_id)
            if conversation is None:
                raise not_found("conversation")
            return conversation

    def conversation_open_for(self, integration_id: str, customer_id: str) -> dict[str, Any] | None:
        with self.lock:
            for conversation in self.conversations.values():
                if (
                    conversation["integration_id"] == integration_id
                    and conversation["customer"]["id"] == customer_id
                    and conversation["state"] != "disconnected"
                ):
                    return conversation
            return None

    def log_request(self, entry: dict[str, Any]) -> None:
        with self.lock:
            self.requests_seen += 1
            entry["seq"] = self.requests_seen
            self.requests.append(entry)
            del self.requests[:-LOG_LIMIT]

    def log_delivery(self, delivery: dict[str, Any]) -> None:
        with self.lock:
            self.deliveries.append(delivery)
            del self.deliveries[:-LOG_LIMIT]

    # ----- persistence -----------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {
                "integrations": self.integrations,
                "conversations": self.conversations,
                "inbound_seen": self.inbound_seen,
                "presence": {
                    user["id"]: {"presence": user["_presence"], "routing": user["_routing"]}
                    for user in self.users
                },
            }

    def save(self) -> None:
        path = self.config.state_file
        if not path:
            return
        with self.lock:
            data = json.dumps(self.snapshot(), indent=1)
        tmp = f"{path}.tmp"
        Path(tmp).write_text(data)
        os.replace(tmp, path)

    def load(self) -> None:
        path = self.config.state_file
        if not path or not Path(path).exists():
            return
        data = json.loads(Path(path).read_text())
        with self.lock:
            # The flags win for the default integration and the events URL and secret, so
            # changing them takes effect on restart; everything else comes back as it was.
            saved = data.get("integrations", {})
            saved.pop(self.config.integration_id, None)
            self.integrations.update(saved)
            self.conversations.update(data.get("conversations", {}))
            self.inbound_seen.update(data.get("inbound_seen", {}))
            for user_id, saved in data.get("presence", {}).items():
                with contextlib.suppress(KeyError):
                    self.users_by_id[user_id]["_presence"] = saved["presence"]
                    self.users_by_id[user_id]["_routing"] = saved["routing"]
