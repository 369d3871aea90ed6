import hashlib
import os
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.test import Client
from django.utils import timezone

from media.models import Media
from media.services import media_url_sign
from media.signing import media_token_make
from tests.outbound.conftest import problem

BODY = b"\x89PNG\r\n\x1a\n" + os.urandom(700_000)


@pytest.fixture
def media(upload: Callable[..., Any]) -> Media:
    response = upload(BODY, "image/png", HTTP_X_FILENAME="photo.png")
    assert response.status_code == 201
    return Media.objects.get(id=response.json()["media_id"])


def path_of(url: str) -> str:
    return urlsplit(url).path


def link(media: Media, **kwargs: Any) -> str:
    return path_of(media_url_sign(media=media, **kwargs).url)


def content(response: Any) -> bytes:
    return b"".join(response.streaming_content)


def test_the_signed_url_answers_the_exact_bytes(client: Client, upload: Callable[..., Any]) -> None:
    uploaded = upload(BODY, "image/png", HTTP_X_FILENAME="photo.png").json()

    response = client.get(path_of(uploaded["url"]))

    assert response.status_code == 200
    assert content(response) == BODY
    assert response["Content-Type"] == "image/png"
    assert response["Content-Length"] == str(len(BODY))
    assert response["Content-Disposition"] == 'inline; filename="photo.png"'
    assert response["ETag"] == f'"{hashlib.sha256(BODY).hexdigest()}"'
    assert response["Accept-Ranges"] == "bytes"
    assert response["X-Content-Type-Options"] == "nosniff"
    cache = response["Cache-Control"]
    assert cache.startswith("private, max-age=")
    max_age = int(cache.split("max-age=")[1].split(",")[0])
    assert 7 * 86400 - 60 <= max_age <= 7 * 86400


def test_no_credentials_are_needed_and_head_gives_the_headers(client: Client, media: Media) -> None:
    response = client.head(link(media))
    assert response.status_code == 200
    assert response["Content-Length"] == str(len(BODY))
    assert response.content == b""


def test_an_unnamed_file_is_named_after_its_id_and_type(
    client: Client, upload: Callable[..., Any]
) -> None:
    uploaded = upload(BODY, "image/png").json()
    response = client.get(path_of(uploaded["url"]))
    assert response["Content-Disposition"] == f'inline; filename="{uploaded["media_id"]}.png"'


@pytest.mark.parametrize(
    ("header", "first", "last"),
    [
        ("bytes=0-99", 0, 99),
        ("bytes=1000-", 1000, len(BODY) - 1),
        ("bytes=-500", len(BODY) - 500, len(BODY) - 1),
        ("bytes=100-99999999", 100, len(BODY) - 1),
    ],
)
def test_a_range_answers_206_with_those_bytes(
    client: Client, media: Media, header: str, first: int, last: int
) -> None:
    response = client.get(link(media), HTTP_RANGE=header)
    assert response.status_code == 206
    assert content(response) == BODY[first : last + 1]
    assert response["Content-Range"] == f"bytes {first}-{last}/{len(BODY)}"
    assert response["Content-Length"] == str(last - first + 1)


@pytest.mark.parametrize("header", [f"bytes={len(BODY)}-", "bytes=-0"])
def test_a_range_beyond_the_file_is_416(client: Client, media: Media, header: str) -> None:
    response = client.get(link(media), HTTP_RANGE=header)
    assert response.status_code == 416
    assert response["Content-Range"] == f"bytes */{len(BODY)}"
    assert problem(response)["status"] == 416


@pytest.mark.parametrize("header", ["bytes=0-1,5-9", "items=0-5", "bytes=9-2", "garbage"])
def test_ranges_that_cannot_be_served_as_one_get_the_whole_file(
    client: Client, media: Media, header: str
) -> None:
    response = client.get(link(media), HTTP_RANGE=header)
    assert response.status_code == 200
    assert content(response) == BODY


def test_if_range_with_another_etag_gets_the_whole_file(client: Client, media: Media) -> None:
    url = link(media)
    stale = client.get(url, HTTP_RANGE="bytes=0-9", HTTP_IF_RANGE='"other"')
    assert stale.status_code == 200
    fresh = client.get(url, HTTP_RANGE="bytes=0-9", HTTP_IF_RANGE=f'"{media.sha256}"')
    assert fresh.status_code == 206
    assert content(fresh) == BODY[:10]


def test_a_cached_copy_is_revalidated_with_304(client: Client, media: Media) -> None:
    response = client.get(link(media), HTTP_IF_NONE_MATCH=f'"{media.sha256}"')
    assert response.status_code == 304
    assert response.content == b""


def test_an_expired_link_is_404(client: Client, media: Media) -> None:
    token = media_token_make(media_id=media.id, expires_at=timezone.now() - timedelta(seconds=1))
    response = client.get(f"/media/{token}")
    assert response.status_code == 404
    assert problem(response)["type"].endswith("/not-found")


def test_a_link_signed_with_a_short_ttl_works_until_then(client: Client, media: Media) -> None:
    assert client.get(link(media, ttl=timedelta(seconds=30))).status_code == 200
    assert client.get(link(media, ttl=timedelta(seconds=-1))).status_code == 404


def test_tampered_links_are_404(client: Client, media: Media, tenant_factory: Any) -> None:
    token = link(media).removeprefix("/media/")
    media_hex, expiry, signature = token.split(".")
    later = f"{int(expiry, 16) + 86400:x}"
    other_id = Media.objects.exclude(id=media.id).first()
    candidates = [
        f"{media_hex}.{later}.{signature}",  # expiry pushed back
        f"{media_hex}.{expiry}.{signature[:-1]}{'A' if signature[-1] != 'A' else 'B'}",
        f"{'0' * 32}.{expiry}.{signature}",  # another id
        f"{media_hex}.{expiry}",
        "not-a-token",
    ]
    assert other_id is None
    for candidate in candidates:
        response = client.get(f"/media/{candidate}")
        assert response.status_code == 404, candidate
        assert problem(response)["status"] == 404


def test_media_past_retention_is_404_even_with_a_valid_link(
    client: Client, media: Media, settings: Any
) -> None:
    url = link(media)
    Media.objects.filter(id=media.id).update(
        created_at=timezone.now() - timedelta(days=settings.MEDIA_RETENTION_DAYS, seconds=1)
    )
    assert client.get(url).status_code == 404


def test_a_missing_file_is_404_not_500(client: Client, media: Media, media_root: Path) -> None:
    (media_root / media.storage_name).unlink()
    assert client.get(link(media)).status_code == 404


def test_only_get_and_head_are_answered(client: Client, media: Media) -> None:
    response = client.post(link(media))
    assert response.status_code == 405
    assert response["Allow"] == "GET, HEAD"


def test_head_with_a_range_gives_the_ranges_headers(client: Client, media: Media) -> None:
    response = client.head(link(media), HTTP_RANGE="bytes=10-19")
    assert response.status_code == 206
    assert response["Content-Range"] == f"bytes 10-19/{len(BODY)}"
    assert response["Content-Length"] == "10"
