"""Secrets at rest: Fernet tokens under the keys in FIELD_ENCRYPTION_KEYS (newest first).

MultiFernet encrypts with the first key and decrypts with any, so adding a new key in
front keeps old rows readable until `manage.py rotate_encryption` rewrites them.
"""

from collections.abc import Sequence
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models


class SecretUnreadable(Exception):
    """A stored secret cannot be decrypted with any configured key."""


@lru_cache(maxsize=4)
def _multi_fernet(keys: tuple[str, ...]) -> MultiFernet:
    if not keys:
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEYS is empty: set it to one or more Fernet keys, "
            "e.g. from cryptography.fernet.Fernet.generate_key()"
        )
    try:
        return MultiFernet([Fernet(key.encode()) for key in keys])
    except ValueError as exc:
        raise ImproperlyConfigured(f"FIELD_ENCRYPTION_KEYS holds an invalid key: {exc}") from None


def _keys() -> tuple[str, ...]:
    return tuple(key.strip() for key in settings.FIELD_ENCRYPTION_KEYS if key.strip())


def _fernet() -> MultiFernet:
    return _multi_fernet(_keys())


def encrypt(plaintext: str) -> str:
    return _fernet().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    return _decrypt(_keys(), token)


# A token always decrypts to the same secret, so remembering the answer needs no
# invalidation; webhooks decrypt the same few secrets on every request.
@lru_cache(maxsize=1024)
def _decrypt(keys: tuple[str, ...], token: str) -> str:
    try:
        return _multi_fernet(keys).decrypt(token.encode()).decode()
    except InvalidToken:
        raise SecretUnreadable("no configured key decrypts this secret") from None


def reencrypt(token: str) -> str:
    """The same secret under the newest key."""
    try:
        return _fernet().rotate(token.encode()).decode()
    except InvalidToken:
        raise SecretUnreadable("no configured key decrypts this secret") from None


# Every model field that holds one of these tokens, so that rotation rewrites them all.
# Each app registers its own fields when it is ready: this app cannot import the apps
# built on it, and a field rotation misses stays readable only until the old key goes.
_encrypted_fields: dict[type[models.Model], tuple[str, ...]] = {}


def encrypted_fields_register(*, model: type[models.Model], fields: Sequence[str]) -> None:
    """Declare `fields` of `model` as holding secrets encrypted with this module."""
    _encrypted_fields[model] = tuple(fields)


def encrypted_fields() -> dict[type[models.Model], tuple[str, ...]]:
    """The registered encrypted fields, by model, in registration order."""
    return dict(_encrypted_fields)
