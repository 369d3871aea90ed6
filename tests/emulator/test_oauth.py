import time

from tests.emulator.conftest import Genesys


def test_token_is_issued_for_the_right_secret(genesys: Genesys) -> None:
    response = genesys.get_token()

    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 86400
    assert len(body["access_token"]) > 20


def test_wrong_secret_is_rejected_as_invalid_client(genesys: Genesys) -> None:
    response = genesys.get_token(secret="not-the-secret")

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert "description" in response.json()


def test_wrong_grant_type_is_rejected(genesys: Genesys) -> None:
    response = genesys.session.post(
        f"{genesys.url}/oauth/token",
        data={"grant_type": "password"},
        auth=(genesys.client_id, genesys.client_secret),
    )

    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_grant_type"


def test_api_call_without_token_needs_authentication(genesys: Genesys) -> None:
    genesys.token = None

    response = genesys.call("GET", "/api/v2/organizations/me")

    assert response.status_code == 401
    body = response.json()
    assert body["code"] == "authentication.required"
    assert body["status"] == 401
    assert body["contextId"] == response.headers["ININ-Correlation-Id"]


def test_unknown_token_is_bad_credentials(genesys: Genesys) -> None:
    genesys.token = "made-up"

    response = genesys.call("GET", "/api/v2/organizations/me")

    assert response.status_code == 401
    assert response.json()["code"] == "bad.credentials"


def test_token_expires_after_its_lifetime(genesys: Genesys) -> None:
    genesys.session.post(
        f"{genesys.url}/emulator/clients",
        json={"client_id": "short", "client_secret": "short-lived-secret-123", "token_ttl": 1},
    )
    short = Genesys(genesys.url, "short", "short-lived-secret-123")
    short.login()
    assert short.call("GET", "/api/v2/organizations/me").status_code == 200

    time.sleep(1.1)

    response = short.call("GET", "/api/v2/organizations/me")
    assert response.status_code == 401
    assert response.json()["code"] == "bad.credentials"


def test_token_request_is_recorded_without_the_secret(genesys: Genesys) -> None:
    entries = genesys.inspect("requests?path_prefix=/oauth/token")["entities"]

    assert entries[0]["headers"]["authorization"] == "Basic [redacted]"
    assert entries[0]["body"] == "grant_type=client_credentials"
    assert entries[0]["valid"] is True
