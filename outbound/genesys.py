"""The only code that speaks HTTP to Genesys Cloud.

A small client that knows URLs, auth and JSON, and nothing about our models. HTTP
outcomes become our own errors, split by whether a retry can help.
"""

from typing import Any

import requests
from django.conf import settings


class GenesysError(Exception):
    def __init__(self, message: str, *, status: int | None = None, context_id: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.context_id = context_id


class GenesysTransientError(GenesysError):
    """Timeouts, connection errors, 429 and 5xx: a later retry may succeed."""


class GenesysPermanentError(GenesysError):
    """400, 401, 403, 404 and other 4xx: repeating the request will not help."""


_session = requests.Session()


def _error_from_response(response: requests.Response) -> GenesysError:
    try:
        body = response.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    message = str(
        body.get("message") or body.get("description") or body.get("error") or response.reason
    )
    context_id = str(body.get("contextId") or response.headers.get("ININ-Correlation-Id", ""))
    status = response.status_code
    error_class = GenesysTransientError if status == 429 or status >= 500 else GenesysPermanentError
    return error_class(message, status=status, context_id=context_id)


def fetch_token(*, login_base_url: str, client_id: str, client_secret: str) -> dict[str, Any]:
    """Client-credentials grant: `{access_token, token_type, expires_in}`.

    https://developer.genesys.cloud/authorization/platform-auth/use-client-credentials
    """
    try:
        response = _session.post(
            f"{login_base_url}/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(client_id, client_secret),
            timeout=settings.GENESYS_TIMEOUT_S,
        )
    except requests.RequestException as exc:
        raise GenesysTransientError(f"token request failed: {type(exc).__name__}") from None
    if response.status_code != 200:
        raise _error_from_response(response)
    body = response.json()
    if not isinstance(body, dict) or "access_token" not in body:
        raise GenesysPermanentError("token response has no access_token", status=200)
    return body


class GenesysClient:
    def __init__(self, *, base_url: str, token: str, timeout: float | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = settings.GENESYS_TIMEOUT_S if timeout is None else timeout

    def _get(self, path: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        try:
            response = _session.get(
                self.base_url + path,
                params=params,
                headers={"Authorization": f"Bearer {self.token}", "Accept": "application/json"},
                timeout=self.timeout,
            )
        except requests.RequestException as exc:
            raise GenesysTransientError(f"GET {path} failed: {type(exc).__name__}") from None
        if not response.ok:
            raise _error_from_response(response)
        body: dict[str, Any] = response.json()
        return body

    # https://developer.genesys.cloud/organization/organization/#get-api-v2-organizations-me
    def get_organization(self) -> dict[str, Any]:
        return self._get("/api/v2/organizations/me")
