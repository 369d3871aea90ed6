"""What each HTTP exchange with Genesys carries: the environment's proxy and CA bundle, a
timeout, the session's default headers, a query string, no cookies, no redirects."""

from collections.abc import Iterator
from typing import Any

import pytest
import responses

from outbound.genesys import GenesysBadAnswerError, GenesysClient, RetryPolicy, transport
from tests.outbound.conftest import API

USERS_URL = f"{API}/api/v2/users"


@pytest.fixture
def fresh_session(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A new process-wide session, so it reads the environment set by the test."""
    monkeypatch.setattr(transport, "_session", None)
    yield


def client() -> GenesysClient:
    policy = RetryPolicy.from_settings(max_attempts=1, timeout_s=7.0)
    return GenesysClient(base_url=API, token="tok-1", policy=policy)


def test_the_environments_proxy_and_ca_bundle_are_used(
    genesys: responses.RequestsMock, fresh_session: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal.test:3128")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/corporate.pem")
    genesys.get(USERS_URL, json={"entities": []})
    client().get_users(page_number=2, page_size=25, expand=["presence", "routingStatus"])
    request = genesys.calls[0].request
    sent_with: dict[str, Any] = request.req_kwargs
    assert sent_with["proxies"]["https"] == "http://proxy.internal.test:3128"
    assert sent_with["verify"] == "/etc/ssl/certs/corporate.pem"
    assert sent_with["timeout"] == 7.0
    assert sent_with["stream"] is False
    assert request.url == (
        f"{USERS_URL}?pageSize=25&pageNumber=2&expand=presence&expand=routingStatus"
    )
    assert request.headers["Authorization"] == "Bearer tok-1"
    assert request.headers["Accept"] == "application/json"
    assert request.headers["User-Agent"].startswith("python-requests/")
    assert request.headers["Connection"] == "keep-alive"


def test_no_proxy_and_verification_by_default(
    genesys: responses.RequestsMock, fresh_session: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("HTTPS_PROXY", "https_proxy", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)
    genesys.get(USERS_URL, json={"entities": []})
    client().get_users(page_number=1, page_size=1)
    sent_with = genesys.calls[0].request.req_kwargs
    assert not sent_with["proxies"].get("https")
    assert sent_with["verify"] is True


def test_a_cookie_genesys_sets_is_never_sent_back(genesys: responses.RequestsMock) -> None:
    genesys.get(
        USERS_URL,
        json={"entities": []},
        headers={"Set-Cookie": "AWSALB=tenant-a-node; Path=/"},
    )
    client().get_users(page_number=1, page_size=1)
    client().get_users(page_number=1, page_size=1)
    assert [call.request.headers.get("Cookie") for call in genesys.calls] == [None, None]


def test_a_json_body_is_sent_as_json(genesys: responses.RequestsMock) -> None:
    sent = genesys.patch(
        f"{API}/api/v2/conversations/messages/c-1",
        json={},
        match=[responses.matchers.json_params_matcher({"state": "disconnected"})],
    )
    client().disconnect_message_conversation(conversation_id="c-1")
    assert sent.call_count == 1
    assert genesys.calls[0].request.headers["Content-Type"] == "application/json"


def test_a_redirect_is_not_followed(genesys: responses.RequestsMock) -> None:
    genesys.get(USERS_URL, status=302, headers={"Location": "https://elsewhere.test/"})
    with pytest.raises(GenesysBadAnswerError):
        client().get_users(page_number=1, page_size=1)
    assert len(genesys.calls) == 1
