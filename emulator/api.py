"""The Genesys Cloud endpoints the gateway calls, with the paths and shapes Genesys uses."""

from __future__ import annotations

import base64
import binascii
import copy
import math
from typing import Any
from urllib.parse import parse_qs, urlencode

from emulator import conversations as conv
from emulator import directory
from emulator.agent import Agent
from emulator.errors import ApiError, bad_request, not_found
from emulator.http import Request, Response, Route, route
from emulator.state import State
from emulator.validation import Issue

MESSAGES = "/api/v2/conversations/messages/{conversationId}"
INTEGRATIONS = "/api/v2/conversations/messaging/integrations/open"
MAX_PAGE_SIZE = 500
MAX_BULK_IDS = 1000


class GenesysApi:
    """Handlers for the Genesys endpoints; all state changes go through State and Agent."""

    def __init__(self, state: State, agent: Agent) -> None:
        self.state = state
        self.agent = agent

    def routes(self) -> list[Route]:
        return [
            route("POST", "/oauth/token", self.oauth_token, authenticated=False),
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


def _basic_credentials(header: str) -> tuple[str, str]:
    if not header.lower().startswith("basic "):
        return "", ""
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return "", ""
    client_id, _, secret = decoded.partition(":")
    return client_id, secret
