"""The Genesys Cloud endpoints the gateway calls, with the paths and shapes Genesys uses."""

from __future__ import annotations

import base64
import binascii
import copy
import math
import uuid
from typing import Any
from urllib.parse import parse_qs, urlencode

from emulator import conversations as conv
from emulator import directory
from emulator.agent import Agent
from emulator.errors import ApiError, bad_request, not_found
from emulator.http import Request, Response, Route, route
from emulator.state import State
from emulator.validation import Issue, allowed_values, model_fields

INBOUND = "/api/v2/conversations/messages/{integrationId}/inbound/open"
MESSAGES = "/api/v2/conversations/messages/{conversationId}"
INTEGRATIONS = "/api/v2/conversations/messaging/integrations/open"
MAX_PAGE_SIZE = 500
MAX_BULK_IDS = 1000
# SDK 269's OpenEvent lists only eventType, yet Genesys documents (and the inbound typing
# example uses) a `typing` object on each event: check events against OpenMessageEvent, the
# class the response uses, which has both.
EVENT_OVERRIDES = {"events": "list[OpenMessageEvent]"}
# The SDK's receipt status enum has five values, but Genesys' receipt endpoint documents only
# these two as supported; anything else is refused like an invalid body.
RECEIPT_STATUSES = ("Delivered", "Failed")


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


class GenesysApi:
    """Handlers for the Genesys endpoints; all state changes go through State and Agent."""

    def __init__(self, state: State, agent: Agent) -> None:
        self.state = state
        self.agent = agent

    def routes(self) -> list[Route]:
        return [
            route("POST", "/oauth/token", self.oauth_token, authenticated=False),
            route("POST", f"{INBOUND}/message", self.inbound_message),
            route("POST", f"{INBOUND}/receipt", self.inbound_receipt),
            route("POST", f"{INBOUND}/event", self.inbound_event),
            route("GET", "/api/v2/conversations/{conversationId}", self.conversation_get),
            route("GET", MESSAGES, self.message_conversation_get),
            route("PATCH", MESSAGES, self.message_conversation_patch),
            route("GET", f"{MESSAGES}/messages/{{messageId}}", self.message_get),
            route("POST", f"{MESSAGES}/messages/bulk", self.messages_bulk),
            route(
                "PATCH",
                f"{MESSAGES}/participants/{{participantId}}/attributes",
                self.participant_attributes_patch,
            ),
            route("PATCH", f"{MESSAGES}/participants/{{participantId}}", self.participant_patch),
            route("GET", "/api/v2/organizations/me", self.organization_get),
            route("GET", "/api/v2/users", self.users_list),
            route("GET", "/api/v2/users/{userId}", self.user_get),
            route("GET", "/api/v2/users/{userId}/presences/purecloud", self.user_presence_get),
            route("GET", "/api/v2/users/{userId}/routingstatus", self.user_routing_status_get),
            route("GET", INTEGRATIONS, self.integrations_list),
            route("POST", INTEGRATIONS, self.integration_create),
            route("GET", f"{INTEGRATIONS}/{{integrationId}}", self.integration_get),
            route("PATCH", f"{INTEGRATIONS}/{{integrationId}}", self.integration_patch),
            route("DELETE", f"{INTEGRATIONS}/{{integrationId}}", self.integration_delete),
        ]

    # ----- OAuth -----------------------------------------------------------------------

    def oauth_token(self, request: Request) -> Response:
        """Client credentials grant; errors are OAuth-style {error, description}."""
        request.model = "oauth:client_credentials"
        form = parse_qs(request.body.decode(errors="replace"))
        if form.get("grant_type") != ["client_credentials"]:
            request.issues = [Issue("grant_type", "must be client_credentials")]
            return Response(
                400,
                {
                    "error": "unsupported_grant_type",
                    "description": "grant_type must be client_credentials",
                },
            )
        request.issues = []
        client_id, secret = _basic_credentials(request.headers.get("authorization", ""))
        try:
            return Response(200, self.state.token_issue(client_id, secret))
        except ApiError:
            return Response(
                401,
                {"error": "invalid_client", "description": "Invalid client credentials"},
                headers={"WWW-Authenticate": 'Basic realm="oauth"'},
            )

    # ----- Open Messaging inbound ----------------------------------------------------------

    def inbound_message(self, request: Request) -> Response:
        body = request.check(
            "OpenInboundNormalizedMessage",
            required=[
                "channel",
                "channel.from",
                "channel.from.id",
                "channel.from.idType",
                "channel.time",
            ],
            extra=lambda b: _text_or_content(b) + _attachments_complete(b),
        )
        integration = self.state.integration_get(request.params["integrationId"])
        prefetch = (request.arg("prefetchConversationId") or "").lower() == "true"
        with self.state.lock:
            provider_id = body["channel"].get("messageId")
            key = f"{integration['id']}/{provider_id}"
            if provider_id and key in self.state.inbound_seen:
                # Genesys de-duplicates on channel.messageId: the same answer, nothing new.
                return Response(200, self._with_prefetch(self.state.inbound_seen[key], prefetch))
            customer = body["channel"]["from"]
            conversation = self.state.conversation_open_for(integration["id"], customer["id"])
            if conversation is None:
                conversation = conv.conversation_create(
                    self.state, integration_id=integration["id"], customer=customer
                )
                self.agent.route(conversation)
            message_id = str(uuid.uuid4())
            channel = {
                "id": integration["id"],
                "platform": "Open",
                "type": "Private",
                "messageId": provider_id,
                "to": {"id": integration["id"]},
                "from": customer,
                "time": body["channel"]["time"],
            }
            normalized: dict[str, Any] = {
                "id": message_id,
                "channel": {k: v for k, v in channel.items() if v is not None},
                "type": "Text",
            }
            if body.get("text"):
                normalized["text"] = body["text"]
            if body.get("content"):
                normalized["content"] = [_content_out(item) for item in body["content"]]
            if body.get("metadata"):
                normalized["metadata"] = body["metadata"]
            conv.message_add(
                conversation,
                direction="inbound",
                normalized={**normalized, "direction": "Inbound"},
                participant_id=conv.customer_of(conversation)["id"],
                provider_message_id=provider_id,
                status="received",
            )
            answer = {**normalized, "conversationId": conversation["id"]}
            if provider_id:
                self.state.inbound_seen[key] = answer
            return Response(200, self._with_prefetch(answer, prefetch))

    @staticmethod
    def _with_prefetch(answer: dict[str, Any], prefetch: bool) -> dict[str, Any]:
        """OpenMessageNormalizedMessage; conversationId only with prefetchConversationId=true."""
        if prefetch:
            return answer
        return {key: value for key, value in answer.items() if key != "conversationId"}

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
            required=[
                "channel",
                "channel.from",
                "channel.from.id",
                "channel.from.idType",
                "channel.time",
            ],
            overrides=EVENT_OVERRIDES,
            extra=_events_complete,
        )
        integration = self.state.integration_get(request.params["integrationId"])
        with self.state.lock:
            answer = {
                "id": str(uuid.uuid4()),
                "channel": {
                    "id": integration["id"],
                    "platform": "Open",
                    "type": "Private",
                    "to": {"id": integration["id"]},
                    "from": body["channel"]["from"],
                    "time": body["channel"]["time"],
                },
                "type": "Event",
                "events": body["events"],
            }
            conversation = self.state.conversation_open_for(
                integration["id"], body["channel"]["from"]["id"]
            )
            if conversation is not None:
                conversation["events"].append({**answer, "direction": "Inbound"})
            return Response(200, answer)

    # ----- conversations -----------------------------------------------------------------

    def conversation_get(self, request: Request) -> Response:
        with self.state.lock:
            conversation = self.state.conversation_get(request.params["conversationId"])
            return Response(200, copy.deepcopy(conv.conversation_view(conversation)))

    def message_conversation_get(self, request: Request) -> Response:
        with self.state.lock:
            conversation = self.state.conversation_get(request.params["conversationId"])
            return Response(200, copy.deepcopy(conv.message_conversation_view(conversation)))

    def message_get(self, request: Request) -> Response:
        with self.state.lock:
            conversation = self.state.conversation_get(request.params["conversationId"])
            for message in conversation["messages"]:
                if message["id"] == request.params["messageId"]:
                    view = conv.message_data_view(conversation, message)
                    return Response(200, copy.deepcopy(self._normalized_only(request, view)))
        raise not_found("message")

    def messages_bulk(self, request: Request) -> Response:
        request.model = "list[str]"
        ids = request.json()
        issues = []
        if not isinstance(ids, list):
            issues.append(Issue("$", "expected an array of message ids"))
        else:
            issues += [
                Issue(f"[{index}]", "expected a string")
                for index, item in enumerate(ids)
                if not isinstance(item, str)
            ]
            if len(ids) > MAX_BULK_IDS:
                issues.append(Issue("$", f"at most {MAX_BULK_IDS} ids"))
        request.issues = issues
        if issues:
            raise bad_request(issues)
        with self.state.lock:
            conversation = self.state.conversation_get(request.params["conversationId"])
            wanted = set(ids)
            entities = [
                self._normalized_only(request, conv.message_data_view(conversation, message))
                for message in conversation["messages"]
                if message["id"] in wanted
            ]
            return Response(200, copy.deepcopy({"entities": entities}))

    @staticmethod
    def _normalized_only(request: Request, view: dict[str, Any]) -> dict[str, Any]:
        """useNormalizedMessage=true drops the deprecated textBody."""
        if (request.arg("useNormalizedMessage") or "").lower() == "true":
            view.pop("textBody", None)
        return view

    def participant_attributes_patch(self, request: Request) -> Response:
        body = request.check("ParticipantAttributes", required=["attributes"])
        with self.state.lock:
            conversation = self.state.conversation_get(request.params["conversationId"])
            participant = conv.participant_get(conversation, request.params["participantId"])
            if participant is None:
                raise not_found("participant")
            participant["attributes"].update(body["attributes"])
            return Response(200, {"attributes": dict(participant["attributes"])})

    def participant_patch(self, request: Request) -> Response:
        body = request.check("MediaParticipantRequest")
        with self.state.lock:
            conversation = self.state.conversation_get(request.params["conversationId"])
            participant = conv.participant_get(conversation, request.params["participantId"])
            if participant is None:
                raise not_found("participant")
            if body.get("state") == "disconnected" and participant["state"] != "disconnected":
                if participant["purpose"] == "customer":
                    self.agent.end(conversation, by_agent=False)
                elif participant["purpose"] == "agent":
                    self.agent.agent_leave(conversation, participant)
            return Response(202, None)

    def message_conversation_patch(self, request: Request) -> Response:
        body = request.check(
            "Conversation",
            required=["state"],
            extra=lambda b: (
                []
                if b.get("state") in (None, "disconnected")
                else [Issue("state", "only 'disconnected' can be set on a message conversation")]
            ),
        )
        with self.state.lock:
            conversation = self.state.conversation_get(request.params["conversationId"])
            if body["state"] == "disconnected" and conversation["state"] != "disconnected":
                self.agent.end(conversation, by_agent=False)
            return Response(200, copy.deepcopy(conv.conversation_view(conversation)))

    # ----- organisation and users ------------------------------------------------------

    def organization_get(self, request: Request) -> Response:
        return Response(200, dict(self.state.org))

    def users_list(self, request: Request) -> Response:
        page_size = request.int_arg("pageSize", 25)
        page_number = request.int_arg("pageNumber", 1)
        issues = []
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            issues.append(Issue("pageSize", f"must be between 1 and {MAX_PAGE_SIZE}"))
        if page_number < 1:
            issues.append(Issue("pageNumber", "must be at least 1"))
        user_state = request.arg("state", "active")
        if user_state not in ("active", "inactive", "deleted", "any"):
            issues.append(Issue("state", "must be active, inactive, deleted or any"))
        if issues:
            raise bad_request(issues)
        expand = set(request.args("expand"))
        ids = set(request.args("id"))
        with self.state.lock:
            users = [
                user
                for user in self.state.users
                if (user_state == "any" or user["state"] == user_state)
                and (not ids or user["id"] in ids)
            ]
            if request.arg("sortOrder") == "descending":
                users.reverse()
            total = len(users)
            page_count = math.ceil(total / page_size)
            start = (page_number - 1) * page_size
            entities = [
                copy.deepcopy(directory.user_view(user, expand))
                for user in users[start : start + page_size]
            ]
        listing: dict[str, Any] = {
            "entities": entities,
            "pageSize": page_size,
            "pageNumber": page_number,
            "total": total,
            "pageCount": page_count,
        }
        rest = [(k, v) for k, values in request.query.items() for v in values]
        rest = [(k, v) for k, v in rest if k not in ("pageSize", "pageNumber")]

        def uri(number: int) -> str:
            query = urlencode([("pageSize", page_size), ("pageNumber", number), *rest])
            return f"/api/v2/users?{query}"

        listing["firstUri"] = uri(1)
        listing["selfUri"] = uri(page_number)
        listing["lastUri"] = uri(max(page_count, 1))
        if page_number < page_count:
            listing["nextUri"] = uri(page_number + 1)
        if 1 < page_number <= page_count + 1:
            listing["previousUri"] = uri(page_number - 1)
        return Response(200, listing)

    def user_get(self, request: Request) -> Response:
        with self.state.lock:
            user = self.state.user_get(request.params["userId"])
            view = directory.user_view(user, set(request.args("expand")))
            return Response(200, copy.deepcopy(view))

    def user_presence_get(self, request: Request) -> Response:
        with self.state.lock:
            return Response(
                200, directory.user_presence(self.state.user_get(request.params["userId"]))
            )

    def user_routing_status_get(self, request: Request) -> Response:
        with self.state.lock:
            return Response(
                200, directory.routing_status(self.state.user_get(request.params["userId"]))
            )

    # ----- Open Messaging integrations -------------------------------------------------

    def integrations_list(self, request: Request) -> Response:
        page_size = request.int_arg("pageSize", 25)
        page_number = request.int_arg("pageNumber", 1)
        if not 1 <= page_size <= MAX_PAGE_SIZE or page_number < 1:
            raise bad_request([Issue("pageSize", "invalid paging")])
        with self.state.lock:
            items = list(self.state.integrations.values())
            start = (page_number - 1) * page_size
            entities = copy.deepcopy(items[start : start + page_size])
        return Response(
            200,
            {
                "entities": entities,
                "pageSize": page_size,
                "pageNumber": page_number,
                "total": len(items),
                "pageCount": math.ceil(len(items) / page_size),
            },
        )

    def integration_create(self, request: Request) -> Response:
        body = request.check(
            "OpenIntegrationRequest",
            required=[
                "name",
                "outboundNotificationWebhookUrl",
                "outboundNotificationWebhookSignatureSecretToken",
            ],
            extra=_secret_long_enough,
        )
        return Response(200, copy.deepcopy(self.state.integration_create(body)))

    def integration_get(self, request: Request) -> Response:
        with self.state.lock:
            integration = self.state.integration_get(request.params["integrationId"])
            return Response(200, copy.deepcopy(integration))

    def integration_patch(self, request: Request) -> Response:
        body = request.check("OpenIntegrationUpdateRequest", extra=_secret_long_enough)
        with self.state.lock:
            integration = self.state.integration_update(request.params["integrationId"], body)
            return Response(200, copy.deepcopy(integration))

    def integration_delete(self, request: Request) -> Response:
        with self.state.lock:
            self.state.integration_get(request.params["integrationId"])
            del self.state.integrations[request.params["integrationId"]]
        return Response(204, None)


def _secret_long_enough(body: dict[str, Any]) -> list[Issue]:
    key = "outboundNotificationWebhookSignatureSecretToken"
    secret = body.get(key)
    if isinstance(secret, str) and len(secret) <= 15:
        return [Issue(key, "must be longer than 15 characters")]
    return []


def _content_out(item: dict[str, Any]) -> dict[str, Any]:
    """Inbound OpenInboundMessageContent -> OpenMessageContent (contentType + attachment)."""
    allowed = set(model_fields("ConversationContentAttachment"))
    attachment = {k: v for k, v in (item.get("attachment") or {}).items() if k in allowed}
    return {"contentType": "Attachment", "attachment": attachment}


def _basic_credentials(header: str) -> tuple[str, str]:
    if not header.lower().startswith("basic "):
        return "", ""
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return "", ""
    client_id, _, secret = decoded.partition(":")
    return client_id, secret
