"""Open Messaging inbound endpoints: what the gateway sends Genesys on the customer's behalf.

Messages, structured responses (a tapped quick reply, button or date), receipts and typing
events, each checked against the SDK model Genesys documents for the endpoint.
"""

from __future__ import annotations

import uuid
from typing import Any

from emulator import conversations as conv
from emulator.agent import Agent
from emulator.errors import bad_request, not_found
from emulator.files import attachments_fetch_later
from emulator.http import Request, Response, Route, route
from emulator.state import State
from emulator.validation import EVENT_OVERRIDES, Issue, allowed_values, model_fields

INBOUND = "/api/v2/conversations/messages/{integrationId}/inbound/open"
# The SDK's receipt status enum has five values, but Genesys' receipt endpoint documents only
# these two as supported; anything else is refused like an invalid body.
RECEIPT_STATUSES = ("Delivered", "Failed")
# What every inbound body must say about its sender.
SENDER_REQUIRED = [
    "channel",
    "channel.from",
    "channel.from.id",
    "channel.from.idType",
    "channel.time",
]


def _text_or_content(body: dict[str, Any]) -> list[Issue]:
    if body.get("text") or body.get("content"):
        return []
    return [Issue("text", "should have required property 'text' or 'content'")]


def _attachments_complete(body: dict[str, Any]) -> list[Issue]:
    issues = []
    for index, item in enumerate(body.get("content") or []):
        if not isinstance(item, dict):
            continue
        attachment = item.get("attachment")
        if not isinstance(attachment, dict):
            issues.append(Issue(f"content[{index}].attachment", "required property is missing"))
            continue
        for key in ("mediaType", "url"):
            if not attachment.get(key):
                issues.append(
                    Issue(f"content[{index}].attachment.{key}", "required property is missing")
                )
    return issues


def _receipt_status_supported(body: dict[str, Any]) -> list[Issue]:
    status = body.get("status")
    known = allowed_values("OpenInboundNormalizedReceipt", "status") or ()
    if status in RECEIPT_STATUSES or status not in known:
        return []  # a value outside the SDK's enum is already reported by the model check
    supported = " or ".join(RECEIPT_STATUSES)
    return [Issue("status", f"receipt status {status!r} is not supported; use {supported}")]


def _events_complete(body: dict[str, Any]) -> list[Issue]:
    events = body.get("events")
    if not events:
        return [Issue("events", "required property is missing")]
    issues = []
    for index, event in enumerate(events):
        if not isinstance(event, dict):
            continue
        if not event.get("eventType"):
            issues.append(Issue(f"events[{index}].eventType", "required property is missing"))
        elif event["eventType"] == "Typing" and not isinstance(event.get("typing"), dict):
            issues.append(Issue(f"events[{index}].typing", "required property is missing"))
    return issues


def _content_out(item: dict[str, Any]) -> dict[str, Any]:
    """Inbound OpenInboundMessageContent -> OpenMessageContent (contentType + attachment)."""
    allowed = set(model_fields("ConversationContentAttachment"))
    attachment = {k: v for k, v in (item.get("attachment") or {}).items() if k in allowed}
    return {"contentType": "Attachment", "attachment": attachment}


def _inbound_channel(integration_id: str, channel: dict[str, Any]) -> dict[str, Any]:
    """OpenMessagingChannel of an answer: the sender's channel addressed to the integration."""
    answer = {
        "id": integration_id,
        "platform": "Open",
        "type": "Private",
        "messageId": channel.get("messageId"),
        "to": {"id": integration_id},
        "from": channel["from"],
        "time": channel["time"],
    }
    return {key: value for key, value in answer.items() if value is not None}


def _with_prefetch(answer: dict[str, Any], prefetch: bool) -> dict[str, Any]:
    """conversationId only with prefetchConversationId=true."""
    if prefetch:
        return answer
    return {key: value for key, value in answer.items() if key != "conversationId"}


class OpenMessagingInbound:
    """Handlers for the four inbound endpoints of an Open Messaging integration."""

    def __init__(self, state: State, agent: Agent) -> None:
        self.state = state
        self.agent = agent

    def routes(self) -> list[Route]:
        return [
            route("POST", f"{INBOUND}/message", self.inbound_message),
            route("POST", f"{INBOUND}/structured/response", self.structured_response),
            route("POST", f"{INBOUND}/receipt", self.inbound_receipt),
            route("POST", f"{INBOUND}/event", self.inbound_event),
        ]

    def inbound_message(self, request: Request) -> Response:
        body = request.check(
            "OpenInboundNormalizedMessage",
            required=SENDER_REQUIRED,
            extra=lambda b: _text_or_content(b) + _attachments_complete(b),
        )
        integration = self.state.integration_get(request.params["integrationId"])
        prefetch = (request.arg("prefetchConversationId") or "").lower() == "true"
        with self.state.lock:
            provider_id = body["channel"].get("messageId")
            key = f"{integration['id']}/{provider_id}"
            if provider_id and key in self.state.inbound_seen:
                # A repeated channel.messageId: the same answer, nothing new (what the
                # gateway expects of Genesys; docs/api.md, "Sends that never double").
                return Response(200, _with_prefetch(self.state.inbound_seen[key], prefetch))
            customer = body["channel"]["from"]
            conversation = self.state.conversation_open_for(integration["id"], customer["id"])
            if conversation is None:
                conversation = conv.conversation_create(
                    self.state, integration_id=integration["id"], customer=customer
                )
                self.agent.route(conversation)
            normalized: dict[str, Any] = {
                "id": str(uuid.uuid4()),
                "channel": _inbound_channel(integration["id"], body["channel"]),
                "type": "Text",
            }
            if body.get("text"):
                normalized["text"] = body["text"]
            if body.get("content"):
                normalized["content"] = [_content_out(item) for item in body["content"]]
            if body.get("metadata"):
                normalized["metadata"] = body["metadata"]
            message = conv.message_add(
                conversation,
                direction="inbound",
                normalized={**normalized, "direction": "Inbound"},
                participant_id=conv.customer_of(conversation)["id"],
                provider_message_id=provider_id,
                status="received",
            )
            # Genesys downloads the files itself, after answering.
            attachments_fetch_later(self.state, message)
            answer = {**normalized, "conversationId": conversation["id"]}
            if provider_id:
                self.state.inbound_seen[key] = answer
            return Response(200, _with_prefetch(answer, prefetch))

    def structured_response(self, request: Request) -> Response:
        """The customer tapped a quick reply, button or date the agent offered.

        Only valid inside the customer's open conversation, answering one of its outbound
        messages (originatingMessageId); answers OpenStructuredResponseNormalizedMessage,
        which (unlike the message answer) never carries a conversationId.
        """
        body = request.check(
            "OpenInboundStructuredResponseMessage",
            required=[
                *SENDER_REQUIRED,
                "buttonResponse",
                "buttonResponse.type",
                "buttonResponse.payload",
                "originatingMessageId",
            ],
        )
        integration = self.state.integration_get(request.params["integrationId"])
        with self.state.lock:
            provider_id = body["channel"].get("messageId")
            key = f"{integration['id']}/structured-response/{provider_id}"
            if provider_id and key in self.state.inbound_seen:
                return Response(200, self.state.inbound_seen[key])
            customer = body["channel"]["from"]
            conversation = self.state.conversation_open_for(integration["id"], customer["id"])
            originating = body["originatingMessageId"]
            if conversation is None or not any(
                m["id"] == originating and m["direction"] == "outbound"
                for m in conversation["messages"]
            ):
                raise bad_request(
                    [
                        Issue(
                            "originatingMessageId",
                            "not an outbound message of the customer's open conversation",
                        )
                    ]
                )
            button = {k: body["buttonResponse"].get(k) for k in ("type", "text", "payload")}
            button = {k: v for k, v in button.items() if v is not None}
            answer = {
                "id": str(uuid.uuid4()),
                "channel": _inbound_channel(integration["id"], body["channel"]),
                "type": "Structured",
                "direction": "Inbound",
                "content": [{"contentType": "ButtonResponse", "buttonResponse": button}],
            }
            # Stored as Genesys lists it: a ConversationNormalizedMessage whose button
            # response names the message it answers.
            stored_button = {**button, "originatingMessageId": originating}
            conv.message_add(
                conversation,
                direction="inbound",
                normalized={
                    **answer,
                    "content": [{"contentType": "ButtonResponse", "buttonResponse": stored_button}],
                },
                participant_id=conv.customer_of(conversation)["id"],
                provider_message_id=provider_id,
                status="received",
            )
            if provider_id:
                self.state.inbound_seen[key] = answer
            return Response(200, answer)

    def inbound_receipt(self, request: Request) -> Response:
        body = request.check(
            "OpenInboundNormalizedReceipt",
            required=["id", "status", "channel"],
            extra=_receipt_status_supported,
        )
        integration = self.state.integration_get(request.params["integrationId"])
        with self.state.lock:
            found = conv.message_find(self.state, body["id"])
            if found is None or found[0]["integration_id"] != integration["id"]:
                raise not_found("message")
            conversation, message = found
            channel = {
                "id": integration["id"],
                "platform": "Open",
                "type": "Private",
                "to": body["channel"].get("to") or {"id": conversation["customer"]["id"]},
                "time": body["channel"].get("time"),
            }
            answer = {
                "id": message["id"],
                "channel": {k: v for k, v in channel.items() if v is not None},
                "type": "Receipt",
                "status": body["status"],
                "direction": "Outbound" if message["direction"] == "outbound" else "Inbound",
            }
            if body.get("reasons"):
                answer["reasons"] = body["reasons"]
            if body.get("isFinalReceipt") is not None:
                answer["isFinalReceipt"] = body["isFinalReceipt"]
            conv.receipt_record(message, {**answer, "direction": "Inbound"})
            return Response(200, answer)

    def inbound_event(self, request: Request) -> Response:
        body = request.check(
            "OpenInboundNormalizedEvent",
            required=SENDER_REQUIRED,
            overrides=EVENT_OVERRIDES,
            extra=_events_complete,
        )
        integration = self.state.integration_get(request.params["integrationId"])
        with self.state.lock:
            channel = _inbound_channel(integration["id"], body["channel"])
            channel.pop("messageId", None)
            answer = {
                "id": str(uuid.uuid4()),
                "channel": channel,
                "type": "Event",
                "events": body["events"],
            }
            conversation = self.state.conversation_open_for(
                integration["id"], body["channel"]["from"]["id"]
            )
            if conversation is not None:
                conversation["events"].append({**answer, "direction": "Inbound"})
            return Response(200, answer)
