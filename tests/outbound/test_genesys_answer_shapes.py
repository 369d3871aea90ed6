"""Genesys answers with a field of the wrong shape: 502 /genesys-error, never a 500."""

from typing import Any

import pytest
import responses
from rest_framework.test import APIClient

from tests.outbound.conftest import API, CONVERSATION_ID, problem

TENANT = "/api/v1/tenants/acme"
USER_ID = "2c6f9e1a-4b7d-4a38-9e05-8d1c3b7f2a64"
CUSTOMER_ID = "d2b7e4a1-6c93-4f08-8e5d-1a9c3f7b2e60"
CONVERSATION_URL = f"{API}/api/v2/conversations/{CONVERSATION_ID}"
MESSAGE_CONVERSATION_URL = f"{API}/api/v2/conversations/messages/{CONVERSATION_ID}"
BULK_URL = f"{MESSAGE_CONVERSATION_URL}/messages/bulk"
WITH_ONE_MESSAGE = {
    "id": CONVERSATION_ID,
    "participants": [{"id": CUSTOMER_ID, "purpose": "customer", "messages": [{"messageId": "m"}]}],
}


def _conversation(answer: Any) -> list[tuple[str, str, Any]]:
    return [("GET", CONVERSATION_URL, answer)]


def _messages(conversation: Any, bulk: Any = None) -> list[tuple[str, str, Any]]:
    return [("GET", MESSAGE_CONVERSATION_URL, conversation), ("POST", BULK_URL, bulk)]


CASES: dict[str, tuple[list[tuple[str, str, Any]], str, str]] = {
    "participants a string": (_conversation({"participants": "x"}), "GET", "/conversations/{c}"),
    "a participant a number": (_conversation({"participants": [1]}), "GET", "/conversations/{c}"),
    "a participant's user a string": (
        _conversation({"participants": [{"id": "p", "user": "u"}]}),
        "GET",
        "/conversations/{c}",
    ),
    "a participant's messages an object": (
        _conversation({"participants": [{"id": "p", "messages": {"state": "x"}}]}),
        "GET",
        "/conversations/{c}",
    ),
    "message participants an object": (
        _messages({"participants": {"a": 1}}),
        "GET",
        "/conversations/{c}/messages",
    ),
    "bulk entities a string": (
        _messages(WITH_ONE_MESSAGE, {"entities": "m"}),
        "GET",
        "/conversations/{c}/messages",
    ),
    "a normalizedMessage a string": (
        _messages(WITH_ONE_MESSAGE, {"entities": [{"id": "m", "normalizedMessage": "hi"}]}),
        "GET",
        "/conversations/{c}/messages",
    ),
    "an attachment a string": (
        _messages(
            WITH_ONE_MESSAGE,
            {
                "entities": [
                    {
                        "id": "m",
                        "normalizedMessage": {
                            "content": [{"contentType": "Attachment", "attachment": "x"}]
                        },
                    }
                ]
            },
        ),
        "GET",
        "/conversations/{c}/messages",
    ),
    "the customer's attributes a list": (
        [
            (
                "GET",
                MESSAGE_CONVERSATION_URL,
                {"participants": [{"id": CUSTOMER_ID, "purpose": "customer", "attributes": [1]}]},
            ),
            ("PATCH", f"{MESSAGE_CONVERSATION_URL}/participants/{CUSTOMER_ID}/attributes", {}),
        ],
        "PATCH",
        "/conversations/{c}/attributes",
    ),
    "user entities numbers": ([("GET", f"{API}/api/v2/users", {"entities": [1]})], "GET", "/users"),
    "a presence a string": (
        [("GET", f"{API}/api/v2/users/{USER_ID}", {"id": USER_ID, "presence": "x"})],
        "GET",
        "/users/{u}",
    ),
    "a presenceDefinition a list": (
        [
            (
                "GET",
                f"{API}/api/v2/users/{USER_ID}",
                {"id": USER_ID, "presence": {"presenceDefinition": []}},
            )
        ],
        "GET",
        "/users/{u}",
    ),
    "a division a number": (
        [("GET", f"{API}/api/v2/users/{USER_ID}", {"id": USER_ID, "division": 7})],
        "GET",
        "/users/{u}",
    ),
    "a routingStatus a string": (
        [("GET", f"{API}/api/v2/users/{USER_ID}", {"id": USER_ID, "routingStatus": "IDLE"})],
        "GET",
        "/users/{u}",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_misshapen_genesys_answer_is_502(
    authed_client: APIClient, genesys: responses.RequestsMock, token_endpoint: Any, case: str
) -> None:
    answers, method, path = CASES[case]
    for genesys_method, url, answer in answers:
        genesys.add(genesys_method, url, json=answer)
    url = TENANT + path.format(c=CONVERSATION_ID, u=USER_ID)
    if method == "PATCH":
        response = authed_client.patch(url, {"attributes": {"tier": "gold"}}, format="json")
    else:
        response = authed_client.get(url)
    assert response.status_code == 502, response.content
    body = problem(response)
    assert body["type"].endswith("/genesys-error")
    assert body["detail"].startswith("Genesys answered a")
