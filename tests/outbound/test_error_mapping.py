"""Genesys failures become the problem responses docs/api.md lists ("Errors")."""

import io
import json
from typing import Any

import pytest
import requests
import responses
from rest_framework.test import APIClient

from tests.conftest import genesys_example
from tests.outbound.conftest import API, TOKEN_URL, problem

URL = "/api/v1/tenants/acme/organization"
ORG_URL = f"{API}/api/v2/organizations/me"


@pytest.fixture(autouse=True)
def _quick_retries(settings: Any) -> None:
    # Real sleeps here (the API builds its own client): keep the backoff tiny.
    settings.GENESYS_BACKOFF_BASE_S = 0.001
    settings.GENESYS_BACKOFF_MAX_S = 0.002


def test_genesys_404_is_404(
    authed_client: APIClient, genesys: responses.RequestsMock, token_endpoint: Any
) -> None:
    genesys.get(ORG_URL, status=404, json={"message": "Not found", "contextId": "ctx-1"})
    response = authed_client.get(URL)
    assert response.status_code == 404
    assert problem(response) == {
        "type": "https://genesys-gateway.dev/problems/genesys-not-found",
        "title": "Not found in Genesys Cloud",
        "status": 404,
        "detail": "Not found",
        "genesys_status": 404,
        "genesys_context_id": "ctx-1",
    }


def test_genesys_400_is_422_with_its_message_and_context_id_logged(
    authed_client: APIClient,
    genesys: responses.RequestsMock,
    token_endpoint: Any,
    log_output: io.StringIO,
) -> None:
    error = genesys_example("error-400.json")
    genesys.get(ORG_URL, status=400, json=error)
    response = authed_client.get(URL)
    assert response.status_code == 422
    body = problem(response)
    assert body["type"].endswith("/genesys-rejected-request")
    assert body["detail"] == error["message"]
    assert body["genesys_code"] == "bad.request"
    assert body["genesys_context_id"] == error["contextId"]
    lines = [json.loads(line) for line in log_output.getvalue().splitlines()]
    assert any(
        line["logger"].startswith("outbound.genesys")
        and line["level"] in ("warning", "error")
        and error["contextId"] in json.dumps(line)
        for line in lines
    )


@pytest.mark.parametrize("second_status", [401, 403])
def test_genesys_401_after_one_refresh_is_502_auth_failed(
    authed_client: APIClient,
    genesys: responses.RequestsMock,
    token_endpoint: Any,
    second_status: int,
) -> None:
    genesys.get(ORG_URL, status=401, json={"code": "bad.credentials"})
    genesys.get(ORG_URL, status=second_status, json={"code": "denied"})
    response = authed_client.get(URL)
    assert response.status_code == 502
    assert problem(response)["type"].endswith("/genesys-auth-failed")
    assert token_endpoint.call_count == 2


def test_genesys_403_after_one_refresh_is_502_auth_failed(
    authed_client: APIClient, genesys: responses.RequestsMock, token_endpoint: Any
) -> None:
    forbidden = genesys.get(ORG_URL, status=403, json={"code": "missing.permissions"})
    response = authed_client.get(URL)
    assert response.status_code == 502
    assert problem(response)["type"].endswith("/genesys-auth-failed")
    assert forbidden.call_count == 2
    assert token_endpoint.call_count == 2


def test_a_rejected_client_secret_is_502_auth_failed(
    authed_client: APIClient, genesys: responses.RequestsMock
) -> None:
    genesys.post(TOKEN_URL, status=401, json={"error": "invalid_client", "description": "bad"})
    response = authed_client.get(URL)
    assert response.status_code == 502
    assert problem(response)["type"].endswith("/genesys-auth-failed")


def test_genesys_429_beyond_the_budget_is_503_with_its_retry_after(
    authed_client: APIClient, genesys: responses.RequestsMock, token_endpoint: Any
) -> None:
    error = genesys_example("error-429.json")
    throttled = genesys.get(ORG_URL, status=429, headers={"Retry-After": "60"}, json=error)
    response = authed_client.get(URL)
    assert response.status_code == 503
    assert response["Retry-After"] == "60"
    body = problem(response)
    assert body["type"].endswith("/genesys-rate-limited")
    assert body["genesys_context_id"] == error["contextId"]
    assert throttled.call_count == 1


@pytest.mark.parametrize("status", [500, 502, 503])
def test_genesys_5xx_after_the_retries_is_503_with_retry_after(
    authed_client: APIClient, genesys: responses.RequestsMock, token_endpoint: Any, status: int
) -> None:
    failing = genesys.get(ORG_URL, status=status, json={"message": "boom"})
    response = authed_client.get(URL)
    assert response.status_code == 503
    assert response["Retry-After"] == "5"  # GENESYS_DEFAULT_RETRY_AFTER_S: Genesys gave none
    assert problem(response)["type"].endswith("/genesys-unavailable")
    assert failing.call_count == (1 if status == 500 else 4)  # 500 is not worth repeating


def test_a_genesys_timeout_after_the_retries_is_504(
    authed_client: APIClient, genesys: responses.RequestsMock, token_endpoint: Any
) -> None:
    hanging = genesys.get(ORG_URL, body=requests.exceptions.ReadTimeout())
    response = authed_client.get(URL)
    assert response.status_code == 504
    assert problem(response)["type"].endswith("/genesys-timeout")
    assert hanging.call_count == 4


def test_genesys_unreachable_is_503(
    authed_client: APIClient, genesys: responses.RequestsMock, token_endpoint: Any
) -> None:
    genesys.get(ORG_URL, body=requests.exceptions.ConnectionError("refused"))
    response = authed_client.get(URL)
    assert response.status_code == 503
    assert problem(response)["type"].endswith("/genesys-unavailable")


def test_a_non_json_answer_is_502_not_500(
    authed_client: APIClient, genesys: responses.RequestsMock, token_endpoint: Any
) -> None:
    genesys.get(ORG_URL, body="<html>maintenance</html>", content_type="text/html")
    response = authed_client.get(URL)
    assert response.status_code == 502
    assert problem(response)["type"].endswith("/genesys-error")


# --- Answers that are not what Genesys promises: 502, never 500 ------------------------


def test_a_broken_transfer_on_a_read_is_retried_then_502(
    authed_client: APIClient, genesys: responses.RequestsMock, token_endpoint: Any
) -> None:
    broken = genesys.get(ORG_URL, body=requests.exceptions.ChunkedEncodingError("cut off"))
    response = authed_client.get(URL)
    assert response.status_code == 502
    assert problem(response)["type"].endswith("/genesys-error")
    assert broken.call_count == 4  # a read is safe to repeat


def test_a_broken_transfer_then_a_good_answer_succeeds(
    authed_client: APIClient, genesys: responses.RequestsMock, token_endpoint: Any
) -> None:
    genesys.get(ORG_URL, body=requests.exceptions.ChunkedEncodingError("cut off"))
    genesys.get(ORG_URL, json={"id": "org-1", "name": "Acme"})
    response = authed_client.get(URL)
    assert response.status_code == 200
    assert response.json()["id"] == "org-1"


@pytest.mark.parametrize(
    "failure",
    [
        requests.exceptions.ContentDecodingError("bad gzip"),
        requests.exceptions.InvalidHeader("bad header"),
        requests.exceptions.RequestException("anything else"),
    ],
)
def test_any_other_requests_error_is_502(
    authed_client: APIClient,
    genesys: responses.RequestsMock,
    token_endpoint: Any,
    failure: Exception,
) -> None:
    genesys.get(ORG_URL, body=failure)
    genesys.get(ORG_URL, json={"id": "org-1"})  # only a broken transfer earns a retry
    response = authed_client.get(URL)
    retried = isinstance(failure, requests.exceptions.ContentDecodingError)
    assert response.status_code == (200 if retried else 502)
    if not retried:
        assert problem(response)["type"].endswith("/genesys-error")


@pytest.mark.parametrize("body", ['["a", "list"]', '"a string"', "42", "null", '{"id": '])
def test_a_json_answer_that_is_not_an_object_is_502(
    authed_client: APIClient, genesys: responses.RequestsMock, token_endpoint: Any, body: str
) -> None:
    genesys.get(ORG_URL, body=body, content_type="application/json")
    response = authed_client.get(URL)
    assert response.status_code == 502
    body = problem(response)
    assert body["detail"].startswith("GET /api/v2/organizations/me: answer is")
    assert {**body, "detail": ""} == {
        "type": "https://genesys-gateway.dev/problems/genesys-error",
        "title": "Genesys Cloud error",
        "status": 502,
        "detail": "",
        "genesys_status": 200,
    }


@pytest.mark.parametrize("expires_in", ['"soon"', "true", "[3600]", '{"s": 1}'])
def test_a_token_answer_with_a_non_numeric_expires_in_is_502(
    authed_client: APIClient, genesys: responses.RequestsMock, expires_in: str
) -> None:
    genesys.post(
        TOKEN_URL,
        body=f'{{"access_token": "tok-1", "expires_in": {expires_in}}}',
        content_type="application/json",
    )
    organization = genesys.get(ORG_URL, json={"id": "org-1"})
    response = authed_client.get(URL)
    assert response.status_code == 502
    assert problem(response)["type"].endswith("/genesys-error")
    assert "expires_in" in problem(response)["detail"]
    assert organization.call_count == 0


def test_a_token_answer_that_is_not_json_is_502(
    authed_client: APIClient, genesys: responses.RequestsMock
) -> None:
    genesys.post(TOKEN_URL, body="<html>login</html>", content_type="text/html")
    response = authed_client.get(URL)
    assert response.status_code == 502


# --- Redirects are never followed ------------------------------------------------------

ELSEWHERE = "https://elsewhere.test/collect"


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirect_from_the_api_is_502_and_not_followed(
    authed_client: APIClient, genesys: responses.RequestsMock, token_endpoint: Any, status: int
) -> None:
    genesys.get(ORG_URL, status=status, headers={"Location": ELSEWHERE})
    elsewhere = genesys.get(ELSEWHERE, json={"id": "org-elsewhere"})
    response = authed_client.get(URL)
    assert response.status_code == 502
    body = problem(response)
    assert body["type"].endswith("/genesys-error")
    assert body["genesys_status"] == status
    assert elsewhere.call_count == 0  # the bearer token went nowhere else


def test_a_redirect_from_the_token_endpoint_is_502_and_not_followed(
    authed_client: APIClient, genesys: responses.RequestsMock
) -> None:
    genesys.post(TOKEN_URL, status=307, headers={"Location": ELSEWHERE})
    elsewhere = genesys.post(ELSEWHERE, json={"access_token": "stolen", "expires_in": 3600})
    response = authed_client.get(URL)
    assert response.status_code == 502
    assert problem(response)["type"].endswith("/genesys-error")
    assert elsewhere.call_count == 0  # the client secret went nowhere else


@pytest.mark.parametrize("expires_in", ["1e400", "100000000000000000000000000000000", "-5"])
def test_a_token_lifetime_out_of_range_is_clamped_not_a_500(
    authed_client: APIClient, genesys: responses.RequestsMock, expires_in: str
) -> None:
    genesys.post(
        TOKEN_URL,
        body=f'{{"access_token": "tok-1", "expires_in": {expires_in}}}',
        content_type="application/json",
    )
    genesys.get(ORG_URL, json={"id": "org-1"})
    response = authed_client.get(URL)
    # 1e400 parses as infinity: not a usable number. The others are clamped to 0..48 h.
    assert response.status_code == (502 if expires_in == "1e400" else 200)
