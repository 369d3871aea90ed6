"""Control endpoints under /emulator/ (not Genesys' API): act as the agent, inspect, break."""

from __future__ import annotations

import copy
import json
from typing import Any

from emulator import content
from emulator.agent import Agent
from emulator.conversations import agent_of
from emulator.errors import ApiError
from emulator.faults import fault_add
from emulator.files import file_url
from emulator.http import Request, Response, Route, route
from emulator.state import State
from emulator.webhooks import WebhookSender

# Settings a running emulator lets you change (POST /emulator/config).
CONFIG_KEYS = {
    "events_url": str,
    "events_secret": str,
    "webhook_timeout": float,
    "webhook_retries": int,
    "webhook_retry_delay": float,
    "token_ttl": int,
    "notify_routing": bool,
    "events_auth": str,
}
WAIT_TIMEOUT_S = 300.0


class Control:
    def __init__(self, state: State, agent: Agent, sender: WebhookSender) -> None:
        self.state = state
        self.agent = agent
        self.sender = sender

    def routes(self) -> list[Route]:
        conversation = "/emulator/conversations/{conversationId}"
        return [
            route("GET", "/emulator/health", self.health, authenticated=False),
            route("GET", "/emulator/requests", self.requests, authenticated=False),
            route("GET", "/emulator/deliveries", self.deliveries, authenticated=False),
            route("GET", "/emulator/faults", self.faults, authenticated=False),
            route("POST", "/emulator/faults", self.faults_add, authenticated=False),
            route("POST", "/emulator/reset", self.reset, authenticated=False),
            route("GET", "/emulator/config", self.config_get, authenticated=False),
            route("POST", "/emulator/config", self.config_set, authenticated=False),
            route("POST", "/emulator/clients", self.client_add, authenticated=False),
            route("GET", "/emulator/conversations", self.conversations, authenticated=False),
            route("GET", conversation, self.conversation, authenticated=False),
            route("GET", "/emulator/users", self.users, authenticated=False),
            route("POST", f"{conversation}/reply", self.reply, authenticated=False),
            route("POST", f"{conversation}/template", self.template, authenticated=False),
            route("POST", f"{conversation}/list-picker", self.list_picker, authenticated=False),
            route("POST", f"{conversation}/date-picker", self.date_picker, authenticated=False),
            route("POST", f"{conversation}/location", self.location, authenticated=False),
            route("POST", f"{conversation}/typing", self.typing, authenticated=False),
            route("POST", f"{conversation}/disconnect", self.disconnect, authenticated=False),
            route("POST", f"{conversation}/transfer", self.transfer, authenticated=False),
            route("POST", "/emulator/users/{userId}/presence", self.presence, authenticated=False),
        ]

    # ----- helpers -----------------------------------------------------------------------

    @staticmethod
    def _body(request: Request) -> dict[str, Any]:
        if not request.body:
            return {}
        try:
            body = json.loads(request.body)
        except ValueError:
            raise ApiError(400, "The body is not valid JSON.") from None
        if not isinstance(body, dict):
            raise ApiError(400, "The body must be a JSON object.")
        return body

    def _conversation_id(self, request: Request) -> str:
        """The id in the path; 'latest' means the most recently started open conversation."""
        conversation_id = request.params["conversationId"]
        if conversation_id != "latest":
            return conversation_id
        with self.state.lock:
            open_ones = [
                c for c in self.state.conversations.values() if c["state"] != "disconnected"
            ]
            if not open_ones:
                raise ApiError(404, "There is no open conversation.", code="not.found")
            return str(max(open_ones, key=lambda c: c["start_time"])["id"])

    def _finish(self, result: dict[str, Any], body: dict[str, Any]) -> Response:
        """Optionally wait for the deliveries ("wait": true), then answer with their records."""
        if body.get("wait"):
            for delivery in result["deliveries"]:
                self.sender.wait(delivery["id"], WAIT_TIMEOUT_S)
        with self.state.lock:
            return Response(202 if not body.get("wait") else 200, copy.deepcopy(result))

    # ----- inspection ------------------------------------------------------------------

    def health(self, request: Request) -> Response:
        return Response(200, {"status": "ok"})

    def requests(self, request: Request) -> Response:
        prefix = request.arg("path_prefix", "") or ""
        with self.state.lock:
            entries = [e for e in self.state.requests if e["path"].startswith(prefix)]
            return Response(200, {"entities": copy.deepcopy(entries), "total": len(entries)})

    def deliveries(self, request: Request) -> Response:
        kind = request.arg("kind")
        with self.state.lock:
            entries = [d for d in self.state.deliveries if kind is None or d["kind"] == kind]
            return Response(200, {"entities": copy.deepcopy(entries), "total": len(entries)})

    def conversations(self, request: Request) -> Response:
        with self.state.lock:
            summaries = [
                {
                    "id": c["id"],
                    "integration_id": c["integration_id"],
                    "customer_id": c["customer"]["id"],
                    "state": c["state"],
                    "start_time": c["start_time"],
                    "messages": len(c["messages"]),
                    "agent_user_id": (agent_of(c) or {}).get("user_id"),
                }
                for c in self.state.conversations.values()
            ]
        return Response(200, {"entities": summaries, "total": len(summaries)})

    def conversation(self, request: Request) -> Response:
        """One conversation's messages as an agent sees them: text, attachments and, for
        a customer's files, what fetching them gave (size, type, sha256 checked)."""
        conversation_id = self._conversation_id(request)
        with self.state.lock:
            found = self.state.conversation_get(conversation_id)
            messages = [
                {
                    "id": message["id"],
                    "direction": message["direction"],
                    "time": message["timestamp"],
                    "status": message["status"],
                    "text": message["normalized"].get("text"),
                    "attachments": [
                        item["attachment"]
                        for item in message["normalized"].get("content") or []
                        if isinstance(item.get("attachment"), dict)
                    ],
                    "files": message.get("files", []),
                    "button_response": next(
                        (
                            item["buttonResponse"]
                            for item in message["normalized"].get("content") or []
                            if isinstance(item.get("buttonResponse"), dict)
                        ),
                        None,
                    ),
                }
                for message in found["messages"]
            ]
            return Response(
                200,
                copy.deepcopy(
                    {
                        "id": found["id"],
                        "state": found["state"],
                        "customer_id": found["customer"]["id"],
                        "messages": messages,
                    }
                ),
            )

    def users(self, request: Request) -> Response:
        """Agents with their presence and routing status; ?presence=On Queue filters."""
        wanted = request.arg("presence")
        with self.state.lock:
            users = [
                {
                    "id": user["id"],
                    "name": user["name"],
                    "state": user["state"],
                    "presence": user["_presence"]["systemPresence"],
                    "routing_status": user["_routing"]["status"],
                }
                for user in self.state.users
                if wanted is None or user["_presence"]["systemPresence"] == wanted
            ]
        return Response(200, {"entities": users, "total": len(users)})

    # ----- switches ----------------------------------------------------------------------

    def faults(self, request: Request) -> Response:
        with self.state.lock:
            return Response(200, {"entities": copy.deepcopy(self.state.faults)})

    def faults_add(self, request: Request) -> Response:
        return Response(201, fault_add(self.state, self._body(request)))

    def reset(self, request: Request) -> Response:
        self.state.reset()
        return Response(200, {"status": "reset"})

    def config_get(self, request: Request) -> Response:
        config = self.state.config
        with self.state.lock:
            return Response(
                200,
                {
                    **{key: getattr(config, key) for key in CONFIG_KEYS if hasattr(config, key)},
                    "events_url": self.state.events_url,
                    "events_secret": self.state.events_secret,
                    "client_id": config.client_id,
                    "integration_id": config.integration_id,
                    "org_id": self.state.org["id"],
                },
            )

    def config_set(self, request: Request) -> Response:
        body = self._body(request)
        unknown = set(body) - set(CONFIG_KEYS)
        if unknown:
            raise ApiError(400, f"Unknown settings: {', '.join(sorted(unknown))}")
        if body.get("events_auth", "signature") not in ("signature", "bearer", "both"):
            raise ApiError(400, "events_auth must be signature, bearer or both.")
        with self.state.lock:
            for key, value in body.items():
                if key == "events_url":
                    self.state.events_url = str(value)
                elif key == "events_secret":
                    self.state.events_secret = str(value)
                elif CONFIG_KEYS[key] is bool and isinstance(value, str):
                    setattr(self.state.config, key, value.lower() in ("1", "true", "yes", "on"))
                else:
                    setattr(self.state.config, key, CONFIG_KEYS[key](value))
        return self.config_get(request)

    def client_add(self, request: Request) -> Response:
        """Another OAuth client (e.g. a second tenant): {client_id, client_secret, token_ttl?}."""
        body = self._body(request)
        if not body.get("client_id") or not body.get("client_secret"):
            raise ApiError(400, "client_id and client_secret are required.")
        with self.state.lock:
            self.state.clients[str(body["client_id"])] = {
                "secret": str(body["client_secret"]),
                "ttl": int(body.get("token_ttl", self.state.config.token_ttl)),
            }
        return Response(201, {"client_id": body["client_id"]})

    # ----- the agent's actions ---------------------------------------------------------

    def reply(self, request: Request) -> Response:
        body = self._body(request)
        image_url = body.get("image_url")
        if body.get("image"):
            if image_url:
                raise ApiError(400, "Give image (a file the emulator serves) or image_url.")
            image_url = file_url(self.state, str(body["image"]))
        result = self.agent.reply(
            self._conversation_id(request),
            text=str(body.get("text") or ""),
            image_url=image_url,
            quick_replies=body.get("quick_replies"),
            bot=bool(body.get("bot")),
        )
        return self._finish(result, body)

    def _send(self, request: Request, body: dict[str, Any], item: dict[str, Any]) -> Response:
        """One content item as an agent message, with the optional text and bot flag."""
        result = self.agent.send(
            self._conversation_id(request),
            items=[item],
            text=str(body.get("text") or ""),
            bot=bool(body.get("bot")),
        )
        return self._finish(result, body)

    def template(self, request: Request) -> Response:
        body = self._body(request)
        item = content.template(
            template_id=str(body.get("template_id") or ""),
            language=str(body.get("language") or ""),
            body_text=body.get("body_text"),
            parameters=body.get("parameters"),
            header_text=body.get("header_text"),
            header_parameters=body.get("header_parameters"),
            footer_text=body.get("footer_text"),
        )
        return self._send(request, body, item)

    def list_picker(self, request: Request) -> Response:
        body = self._body(request)
        item = content.list_picker(
            title=str(body.get("title") or ""),
            items=body.get("items") or [],
            subtitle=body.get("subtitle"),
            button_label=body.get("button_label"),
            section=body.get("section"),
        )
        return self._send(request, body, item)

    def date_picker(self, request: Request) -> Response:
        body = self._body(request)
        try:
            duration_s = int(body.get("duration_s", 1800))
        except (TypeError, ValueError):
            raise ApiError(400, "duration_s must be a whole number of seconds.") from None
        item = content.date_picker(
            title=str(body.get("title") or ""),
            slots=body.get("slots") or [],
            duration_s=duration_s,
            subtitle=body.get("subtitle"),
        )
        return self._send(request, body, item)

    def location(self, request: Request) -> Response:
        body = self._body(request)
        item = content.location(
            latitude=body.get("latitude"),
            longitude=body.get("longitude"),
            address=body.get("address"),
            text=body.get("label"),
            url=body.get("url"),
        )
        return self._send(request, body, item)

    def typing(self, request: Request) -> Response:
        body = self._body(request)
        result = self.agent.typing(
            self._conversation_id(request), duration_ms=int(body.get("duration_ms", 5000))
        )
        return self._finish(result, body)

    def disconnect(self, request: Request) -> Response:
        body = self._body(request)
        return self._finish(self.agent.disconnect(self._conversation_id(request)), body)

    def transfer(self, request: Request) -> Response:
        body = self._body(request)
        result = self.agent.transfer(
            self._conversation_id(request), to_user_id=body.get("to_user_id")
        )
        return self._finish(result, body)

    def presence(self, request: Request) -> Response:
        body = self._body(request)
        result = self.agent.presence(
            request.params["userId"],
            presence=body.get("presence"),
            routing_status=body.get("routing_status"),
            envelope=str(body.get("envelope") or "bare"),
        )
        return self._finish(result, body)
