"""OAuth tokens: the client-credentials grant and the shared, encrypted token cache.

The cache is one row per tenant (outbound.models.GenesysToken) shared by every process, so
the gateway as a whole fetches one token at a time. A cached token that no configured key
decrypts counts as absent: a new one is fetched.
"""

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

import requests
import structlog
from django.conf import settings
from django.db import OperationalError, connection, transaction
from django.db.models import F
from django.utils import timezone

from outbound.cache import TOKENS
from outbound.genesys.exceptions import (
    GenesysAuthError,
    GenesysBadAnswerError,
    GenesysTransientError,
    error_from_response,
)
from outbound.genesys.transport import Call, Clock, RetryPolicy, send
from outbound.models import GenesysToken
from tenants import crypto
from tenants.models import Tenant

logger = structlog.get_logger(__name__)

# Genesys lets an OAuth client's tokens live at most 48 hours.
_MAX_TOKEN_LIFETIME_S = 48 * 3600
# PostgreSQL's SQLSTATE when lock_timeout expires.
_LOCK_NOT_AVAILABLE = "55P03"


class TokenSource(Protocol):
    def token(self, *, rejected: str | None = None) -> str | None:
        """A valid access token; `rejected` is one Genesys just refused (401/403).

        None when no other token can be had: the refusal is then final.
        """


@dataclass(frozen=True)
class FetchedToken:
    access_token: str
    expires_in_s: int


# https://developer.genesys.cloud/authorization/platform-auth/use-client-credentials
def fetch_token(
    *,
    login_base_url: str,
    client_id: str,
    client_secret: str,
    sleep: Callable[[float], None] = time.sleep,
    monotonic: Callable[[], float] = time.monotonic,
) -> FetchedToken:
    """Client-credentials grant.

    Repeating a token request is harmless, so 429/5xx/network errors are retried, but
    within one timeout's worth of budget: a token must not eat the whole API budget.
    """
    policy = RetryPolicy.from_settings(budget_s=settings.GENESYS_TIMEOUT_S)
    call = Call(
        method="POST",
        url=f"{login_base_url}/oauth/token",
        endpoint="/oauth/token",
        safe=True,
        token_endpoint=True,
        options={"data": {"grant_type": "client_credentials"}, "auth": (client_id, client_secret)},
    )
    response = send(
        call,
        policy=policy,
        clock=Clock(sleep=sleep, monotonic=monotonic),
        deadline=monotonic() + policy.budget_s,
    )
    if response.status_code != 200:
        raise error_from_response(response, token_endpoint=True)
    return _token_from_body(response)


def _token_from_body(response: requests.Response) -> FetchedToken:
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict) or not body.get("access_token"):
        raise GenesysAuthError("token response has no access_token", genesys_status=200)
    expires_in = body.get("expires_in", 0)
    # bool is an int in Python; a token answer saying `true` is as broken as one saying "soon".
    if isinstance(expires_in, bool) or not isinstance(expires_in, int | float):
        raise GenesysBadAnswerError(
            "token response has a non-numeric expires_in", genesys_status=200
        )
    if not math.isfinite(expires_in) or not isinstance(body["access_token"], str):
        raise GenesysBadAnswerError("token response is malformed", genesys_status=200)
    # Clamped, so an absurd lifetime can neither overflow a datetime nor outlive a real one.
    expires_in_s = max(0, min(int(expires_in), _MAX_TOKEN_LIFETIME_S))
    return FetchedToken(access_token=body["access_token"], expires_in_s=expires_in_s)


class StaticToken:
    """A token obtained elsewhere (e.g. `tenant verify`'s fresh one); a refusal is final."""

    def __init__(self, token: str) -> None:
        self._token = token

    def token(self, *, rejected: str | None = None) -> str | None:
        return None if rejected is not None else self._token


# --- The shared cache --------------------------------------------------------------------


def _cached_token(row: GenesysToken) -> str | None:
    """The row's token while it is fresh and readable, else None."""
    margin = timedelta(seconds=settings.GENESYS_TOKEN_REFRESH_MARGIN_S)
    if not row.access_token_encrypted or row.expires_at is None:
        return None
    if row.expires_at - margin <= timezone.now():
        return None
    try:
        return crypto.decrypt(row.access_token_encrypted)
    except crypto.SecretUnreadable:
        # Written under a key that is gone (dropped before a rotation reached this row): a
        # new token is one request away, so this is no reason to fail the call.
        logger.warning("genesys_token_unreadable", tenant_id=row.pk)
        return None


def genesys_token_get(*, tenant: Tenant, rejected: str | None = None) -> str:
    """The tenant's access token from the shared cache, fetched when missing or stale.

    `rejected` is a token Genesys just answered 401 to: it is replaced, unless another
    worker has replaced it already. A token read or fetched is also remembered in this
    process (outbound/cache.py), so most calls read no row at all.
    """
    if rejected is not None:
        TOKENS.pop(tenant.pk)  # refused by Genesys: this process must not hand it out again
    else:
        remembered = TOKENS.get(tenant.pk)
        if remembered is not None:
            return remembered
    row = GenesysToken.objects.filter(tenant=tenant).first()
    if row is not None:
        token = _cached_token(row)
        if token is not None and token != rejected:
            _remember(tenant=tenant, token=token, expires_at=row.expires_at)
            return token
    token = genesys_token_refresh(tenant=tenant, rejected=rejected)
    row = GenesysToken.objects.filter(tenant=tenant).only("expires_at").first()
    if row is not None:
        _remember(tenant=tenant, token=token, expires_at=row.expires_at)
    return token


def _remember(*, tenant: Tenant, token: str, expires_at: datetime | None) -> None:
    """Keep the decrypted token in this process until it is due for a refresh."""
    if expires_at is None:
        return
    margin = timedelta(seconds=settings.GENESYS_TOKEN_REFRESH_MARGIN_S)
    TOKENS.put(tenant.pk, token, ttl_s=(expires_at - margin - timezone.now()).total_seconds())


def genesys_token_refresh(*, tenant: Tenant, rejected: str | None = None) -> str:
    """Fetch a token under the tenant's row lock; waiters then reuse the winner's token."""
    GenesysToken.objects.get_or_create(tenant=tenant)
    with transaction.atomic():
        # Holding the lock across the token request is the point: the other workers wait
        # here and find the fresh token instead of asking Genesys too.
        row = _token_row_lock(tenant=tenant)
        token = _cached_token(row)
        if token is not None and token != rejected:
            return token
        credentials = tenant.genesys_credentials()
        fetched = fetch_token(
            login_base_url=credentials.login_base_url,
            client_id=credentials.client_id,
            client_secret=credentials.client_secret,
        )
        now = timezone.now()
        row.access_token_encrypted = crypto.encrypt(fetched.access_token)
        row.expires_at = now + timedelta(seconds=fetched.expires_in_s)
        row.fetched_at = now
        row.fetch_count = F("fetch_count") + 1
        row.save()
        return fetched.access_token


def _token_row_lock(*, tenant: Tenant) -> GenesysToken:
    """The tenant's row, locked; waiting at most GENESYS_TOKEN_LOCK_TIMEOUT_S for it.

    The holder may be stuck on a slow token request; past the timeout the call answers
    503 (GenesysTransientError) rather than holding a worker indefinitely.
    """
    if connection.vendor != "postgresql":  # SQLite (make run) has no row locks
        return GenesysToken.objects.select_for_update().get(tenant=tenant)
    timeout_ms = max(1, round(settings.GENESYS_TOKEN_LOCK_TIMEOUT_S * 1000))
    with connection.cursor() as cursor:
        # Transaction-local, and put back right after: only this wait is bounded.
        cursor.execute(
            "SELECT current_setting('lock_timeout'), set_config('lock_timeout', %s, true)",
            [f"{timeout_ms}ms"],
        )
        previous = cursor.fetchone()[0]
    try:
        row = GenesysToken.objects.select_for_update().get(tenant=tenant)
    except OperationalError as exc:
        if getattr(exc.__cause__, "sqlstate", None) != _LOCK_NOT_AVAILABLE:
            raise
        logger.warning("genesys_token_lock_timeout", timeout_ms=timeout_ms)
        raise GenesysTransientError(
            f"another process has been fetching this tenant's Genesys token for over "
            f"{timeout_ms / 1000:g} s"
        ) from None
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('lock_timeout', %s, true)", [previous])
    return row


class DatabaseTokenSource:
    """The tenant's tokens from the shared cache."""

    def __init__(self, tenant: Tenant) -> None:
        self._tenant = tenant

    def token(self, *, rejected: str | None = None) -> str:
        return genesys_token_get(tenant=self._tenant, rejected=rejected)
