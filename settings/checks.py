"""Refuse to start with settings that would fail late or run insecurely.

Every entry point (manage.py, genesys_gateway.wsgi/asgi, the Celery app, gunicorn.conf.py)
calls `settings_refuse_misconfigured()` before serving anything. With DEBUG off, a missing
or weak SECRET_KEY or unusable FIELD_ENCRYPTION_KEYS ends the process with one line on
stderr and exit status 2, instead of a traceback on the first request that needs them.
"""

import binascii
import sys
from collections.abc import Sequence

from cryptography.fernet import Fernet
from django.core.checks.security.base import (
    SECRET_KEY_INSECURE_PREFIX,
    SECRET_KEY_MIN_LENGTH,
    SECRET_KEY_MIN_UNIQUE_CHARACTERS,
)
from django.core.exceptions import ImproperlyConfigured

# settings/base.py falls back to this so `DEBUG=true` works without any setup.
DEV_SECRET_KEY = "dev-only-insecure-secret-key-change-me"

EXIT_MISCONFIGURED = 2


def secret_key_problem(*, secret_key: str) -> str | None:
    """Why this SECRET_KEY must not be used in production, or None (Django's deploy rule)."""
    if not secret_key or secret_key == DEV_SECRET_KEY:
        return "SECRET_KEY is not set"
    if (
        len(secret_key) < SECRET_KEY_MIN_LENGTH
        or len(set(secret_key)) < SECRET_KEY_MIN_UNIQUE_CHARACTERS
        or secret_key.startswith(SECRET_KEY_INSECURE_PREFIX)
    ):
        return (
            f"SECRET_KEY is insecure: use at least {SECRET_KEY_MIN_LENGTH} random characters "
            f"(at least {SECRET_KEY_MIN_UNIQUE_CHARACTERS} distinct, "
            f"no '{SECRET_KEY_INSECURE_PREFIX}' prefix)"
        )
    return None


def encryption_keys_problem(*, keys: Sequence[str]) -> str | None:
    """Why FIELD_ENCRYPTION_KEYS cannot encrypt and decrypt secrets, or None."""
    present = [key.strip() for key in keys if key.strip()]
    if not present:
        return "FIELD_ENCRYPTION_KEYS is empty: set one or more Fernet keys, newest first"
    for position, key in enumerate(present, start=1):
        try:
            Fernet(key.encode())
        except (ValueError, binascii.Error):
            return (
                f"FIELD_ENCRYPTION_KEYS entry {position} is not a Fernet key "
                "(32 url-safe base64-encoded bytes, from Fernet.generate_key())"
            )
    return None


def settings_problems(*, debug: bool, secret_key: str, encryption_keys: Sequence[str]) -> list[str]:
    """Everything that stops these settings from running in production; empty with DEBUG on."""
    if debug:
        return []
    problems = [
        secret_key_problem(secret_key=secret_key),
        encryption_keys_problem(keys=encryption_keys),
    ]
    return [problem for problem in problems if problem is not None]


def _configured_secret_key() -> str:
    from django.conf import settings

    try:
        return str(settings.SECRET_KEY)
    except ImproperlyConfigured:  # Django refuses an empty SECRET_KEY on access
        return ""


def settings_refuse_misconfigured() -> None:
    """Exit with one line on stderr when the configured settings cannot run in production."""
    from django.conf import settings

    try:
        debug = bool(settings.DEBUG)
        problems = settings_problems(
            debug=debug,
            secret_key=_configured_secret_key(),
            encryption_keys=list(getattr(settings, "FIELD_ENCRYPTION_KEYS", [])),
        )
    except ImproperlyConfigured as exc:  # e.g. an environment variable that does not parse
        problems = [str(exc)]
    if problems:
        sys.stderr.write(f"genesys-gateway: refusing to start: {'; '.join(problems)}\n")
        sys.stderr.flush()
        sys.exit(EXIT_MISCONFIGURED)
