"""The Genesys Cloud endpoints the gateway calls, one method each.

Knows URLs, auth and JSON, and nothing about our models: the token source and the rate
limiter are handed in. A 401 or 403 gets one fresh token and one more try; a second
refusal is final. Every answer is a JSON object; anything else is a GenesysBadAnswerError.
"""

import os
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any
from urllib.parse import quote

import requests
import structlog

from outbound.genesys.concurrency import genesys_call_slot
from outbound.genesys.exceptions import GenesysAuthError, GenesysBadAnswerError, error_from_response
from outbound.genesys.tokens import StaticToken, TokenSource
from outbound.genesys.transport import Call, Clock, RateLimiter, RetryPolicy, send

logger = structlog.get_logger(__name__)

# Jitter for retry delays, shared by every client of the process: seeding a new Random
# reads the OS entropy source and fills its state, a measurable cost when a client is
# made per request (docs/benchmarks.md). Its methods are safe to call from any thread;
# a forked process (gunicorn and Celery workers) reseeds it, so workers never share jitter.
_JITTER = random.Random()
os.register_at_fork(after_in_child=_JITTER.seed)


class GenesysClient:
    def __init__(
        self,
        *,
        base_url: str,
        token: str | None = None,
        token_source: TokenSource | None = None,
        rate_limiter: RateLimiter | None = None,
        policy: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        if token_source is None:
            if token is None:
                raise ValueError("GenesysClient needs a token or a token_source")
            token_source = StaticToken(token)
        self.base_url = base_url.rstrip("/")
        self._token_source = token_source
        self._rate_limiter = rate_limiter
        self._policy = policy or RetryPolicy.from_settings()
        self._clock = Clock(sleep=sleep, monotonic=monotonic, rng=rng or _JITTER)
        # Genesys' correlation id of the last answer, for logging what a 2xx body reports.
        self.last_context_id = ""

    @property
    def rate_limiter(self) -> RateLimiter | None:
        return self._rate_limiter

    def _call(
        self,
        method: str,
        endpoint: str,
        *,
        path: Mapping[str, str] | None = None,
        params: Any = None,
        json: Any = None,
        safe: bool,
    ) -> dict[str, Any]:
        """Call `endpoint` (a templated path, also the metrics label) and return its JSON."""
        url = self.base_url + endpoint.format(
            **{name: quote(value, safe="") for name, value in (path or {}).items()}
        )
        call = Call(
            method=method,
            url=url,
            endpoint=endpoint,
            safe=safe,
            options={"params": params, "json": json},
        )
        with genesys_call_slot():
            response = self._send_authorized(call)
        self.last_context_id = response.headers.get("ININ-Correlation-Id", "")
        if not response.ok:
            error = error_from_response(response)
            logger.warning(
                "genesys_call_failed",
                endpoint=endpoint,
                method=method,
                outcome=str(response.status_code),
                genesys_context_id=error.context_id,
                genesys_code=error.code,
                detail=error.message,
            )
            raise error
        return _json_object(response, label=call.label)

    def _send_authorized(self, call: Call) -> requests.Response:
        """Send with the current token; after a 401/403, once more with a fresh one."""
        deadline = self._clock.monotonic() + self._policy.budget_s
        token = self._token_source.token()
        if token is None:
            raise GenesysAuthError("no access token available")
        response = self._send_with_token(call, token=token, deadline=deadline)
        if response.status_code in (401, 403):
            # Expired or revoked early (401), or a token minted before a role change (403):
            # one fresh token, one more try. Safe for any method: Genesys did not process a
            # request it refused. A second refusal is final, so a misconfigured role costs
            # one extra token request per call, no more.
            logger.info("genesys_token_rejected", endpoint=call.endpoint)
            fresh = self._token_source.token(rejected=token)
            if fresh is not None:
                response = self._send_with_token(call, token=fresh, deadline=deadline)
        return response

    def _send_with_token(self, call: Call, *, token: str, deadline: float) -> requests.Response:
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        return send(
            replace(call, options={**call.options, "headers": headers}),
            policy=self._policy,
            clock=self._clock,
            deadline=deadline,
            limiter=self._rate_limiter,
        )

    # https://developer.genesys.cloud/commdigital/digital/openmessaging/inboundMessages
    def send_inbound_message(
        self, *, integration_id: str, message: dict[str, Any]
    ) -> dict[str, Any]:
        return self._call(
            "POST",
            "/api/v2/conversations/messages/{integrationId}/inbound/open/message",
            path={"integrationId": integration_id},
            params={"prefetchConversationId": "true"},
            json=message,
            safe=True,  # same channel.messageId on a resend: docs/api.md, "Sends that never double"
        )

    # https://developer.genesys.cloud/routing/conversations/conversations-apis#post-api-v2-conversations-messages--integrationId--inbound-open-structured-response
    def send_inbound_structured_response(
        self, *, integration_id: str, message: dict[str, Any]
    ) -> dict[str, Any]:
        return self._call(
            "POST",
            "/api/v2/conversations/messages/{integrationId}/inbound/open/structured/response",
            path={"integrationId": integration_id},
            json=message,
            # Not repeated after a 5xx or a read timeout: nothing says Genesys
            # de-duplicates structured responses, and a doubled tap can drive a bot twice.
            safe=False,
        )

    # https://developer.genesys.cloud/commdigital/digital/openmessaging/inboundReceiptMessages
    def send_inbound_receipt(
        self, *, integration_id: str, receipt: dict[str, Any]
    ) -> dict[str, Any]:
        return self._call(
            "POST",
            "/api/v2/conversations/messages/{integrationId}/inbound/open/receipt",
            path={"integrationId": integration_id},
            json=receipt,
            safe=True,
        )

    # https://developer.genesys.cloud/commdigital/digital/openmessaging/inboundEventMessages
    def send_inbound_event(self, *, integration_id: str, event: dict[str, Any]) -> dict[str, Any]:
        return self._call(
            "POST",
            "/api/v2/conversations/messages/{integrationId}/inbound/open/event",
            path={"integrationId": integration_id},
            json=event,
            safe=True,
        )

    # https://developer.genesys.cloud/routing/conversations/conversations-apis#get-api-v2-conversations--conversationId-
    def get_conversation(self, *, conversation_id: str) -> dict[str, Any]:
        return self._call(
            "GET",
            "/api/v2/conversations/{conversationId}",
            path={"conversationId": conversation_id},
            safe=True,
        )

    # https://developer.genesys.cloud/routing/conversations/conversations-apis#get-api-v2-conversations-messages--conversationId-
    def get_message_conversation(self, *, conversation_id: str) -> dict[str, Any]:
        return self._call(
            "GET",
            "/api/v2/conversations/messages/{conversationId}",
            path={"conversationId": conversation_id},
            safe=True,
        )

    # https://developer.genesys.cloud/routing/conversations/conversations-apis#post-api-v2-conversations-messages--conversationId--messages-bulk
    def get_messages_bulk(
        self, *, conversation_id: str, message_ids: Sequence[str]
    ) -> dict[str, Any]:
        return self._call(
            "POST",
            "/api/v2/conversations/messages/{conversationId}/messages/bulk",
            path={"conversationId": conversation_id},
            params={"useNormalizedMessage": "true"},
            json=list(message_ids),
            safe=True,  # a read, though it is a POST
        )

    # https://developer.genesys.cloud/routing/conversations/conversations-apis#patch-api-v2-conversations-messages--conversationId--participants--participantId--attributes
    def patch_participant_attributes(
        self, *, conversation_id: str, participant_id: str, attributes: Mapping[str, str]
    ) -> dict[str, Any]:
        return self._call(
            "PATCH",
            "/api/v2/conversations/messages/{conversationId}/participants/{participantId}/attributes",
            path={"conversationId": conversation_id, "participantId": participant_id},
            json={"attributes": dict(attributes)},
            safe=False,
        )

    # https://developer.genesys.cloud/routing/conversations/conversations-apis#patch-api-v2-conversations-messages--conversationId-
    def disconnect_message_conversation(self, *, conversation_id: str) -> dict[str, Any]:
        return self._call(
            "PATCH",
            "/api/v2/conversations/messages/{conversationId}",
            path={"conversationId": conversation_id},
            json={"state": "disconnected"},
            safe=False,
        )

    # https://developer.genesys.cloud/organization/organization/#get-api-v2-organizations-me
    def get_organization(self) -> dict[str, Any]:
        return self._call("GET", "/api/v2/organizations/me", safe=True)

    # https://developer.genesys.cloud/useragentman/users/#get-api-v2-users
    def get_users(
        self, *, page_number: int, page_size: int, expand: Sequence[str] = ()
    ) -> dict[str, Any]:
        params: list[tuple[str, str | int]] = [("pageSize", page_size), ("pageNumber", page_number)]
        params += [("expand", value) for value in expand]
        return self._call("GET", "/api/v2/users", params=params, safe=True)

    # https://developer.genesys.cloud/useragentman/users/#get-api-v2-users--userId-
    def get_user(self, *, user_id: str, expand: Sequence[str] = ()) -> dict[str, Any]:
        return self._call(
            "GET",
            "/api/v2/users/{userId}",
            path={"userId": user_id},
            params=[("expand", value) for value in expand],
            safe=True,
        )


def _json_object(response: requests.Response, *, label: str) -> dict[str, Any]:
    """The answer's JSON object; an empty answer is an empty object."""
    if not response.content:
        return {}
    try:
        body = response.json()
    except ValueError:
        raise GenesysBadAnswerError(
            f"{label}: answer is not JSON", genesys_status=response.status_code
        ) from None
    if not isinstance(body, dict):
        raise GenesysBadAnswerError(
            f"{label}: answer is JSON but not an object", genesys_status=response.status_code
        )
    return body
