import io
import os
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from media.errors import MediaTooLargeError, MediaTypeError, MediaUnavailableError
from media.models import Media
from media.services import CHUNK_BYTES, media_purge, media_resolve, media_store
from media.tasks import media_purge_task
from tenants.models import Tenant
from tests.media.conftest import PDF, PNG


class CountingStream:
    """An endless body, as a chunked upload that never ends would be."""

    def __init__(self) -> None:
        self.bytes_read = 0

    def read(self, size: int = -1) -> bytes:
        chunk = (PNG * (size // len(PNG) + 1))[:size]
        self.bytes_read += len(chunk)
        return chunk


def store(tenant: Tenant, body: bytes = PNG, mime: str = "image/png") -> Media:
    return media_store(tenant=tenant, stream=io.BytesIO(body), content_type=mime)


def test_an_endless_body_is_refused_once_past_the_limit(
    tenant: Tenant, settings: Any, media_root: Path
) -> None:
    settings.MEDIA_MAX_BYTES = 5 * CHUNK_BYTES
    stream = CountingStream()
    with pytest.raises(MediaTooLargeError):
        media_store(tenant=tenant, stream=stream, content_type="image/png")
    # Reading stopped at the first chunk past the limit.
    assert stream.bytes_read == 6 * CHUNK_BYTES
    assert not Media.objects.exists()
    assert [p for p in media_root.rglob("*") if p.is_file()] == []


def test_a_declared_length_over_the_limit_is_refused_before_reading(
    tenant: Tenant, settings: Any
) -> None:
    stream = CountingStream()
    with pytest.raises(MediaTooLargeError):
        media_store(
            tenant=tenant,
            stream=stream,
            content_type="image/png",
            content_length=settings.MEDIA_MAX_BYTES + 1,
        )
    assert stream.bytes_read == 0


def test_a_body_too_short_to_show_its_type_is_refused(tenant: Tenant) -> None:
    with pytest.raises(MediaTypeError):
        store(tenant, b"\x89PN")


def test_resolve_finds_the_tenants_own_media(tenant: Tenant) -> None:
    media = store(tenant)
    assert media_resolve(tenant=tenant, media_id=str(media.id)) == media
    assert media_resolve(tenant=tenant, media_id=media.id) == media


def test_a_tenant_cannot_resolve_another_tenants_media(
    tenant: Tenant, tenant_factory: Callable[..., Tenant], media_root: Path
) -> None:
    other = tenant_factory(slug="globex", name="Globex")
    theirs = store(other, PDF, "application/pdf")
    mine = store(tenant)

    with pytest.raises(MediaUnavailableError) as caught:
        media_resolve(tenant=tenant, media_id=str(theirs.id))
    assert caught.value.status == 400
    assert str(theirs.id) in caught.value.detail
    # Each tenant's files live under its own prefix.
    assert mine.storage_name.startswith("acme/")
    assert theirs.storage_name.startswith("globex/")
    assert (media_root / theirs.storage_name).read_bytes() == PDF


@pytest.mark.parametrize("media_id", [str(uuid.uuid4()), "not-a-uuid", ""])
def test_unknown_or_malformed_ids_do_not_resolve(tenant: Tenant, media_id: str) -> None:
    with pytest.raises(MediaUnavailableError):
        media_resolve(tenant=tenant, media_id=media_id)


def test_media_past_retention_does_not_resolve(tenant: Tenant, settings: Any) -> None:
    media = store(tenant)
    Media.objects.filter(id=media.id).update(
        created_at=timezone.now() - timedelta(days=settings.MEDIA_RETENTION_DAYS, minutes=1)
    )
    with pytest.raises(MediaUnavailableError):
        media_resolve(tenant=tenant, media_id=media.id)


def age(media: Media, *, days: float) -> None:
    Media.objects.filter(id=media.id).update(created_at=timezone.now() - timedelta(days=days))


def test_purge_deletes_old_files_and_rows_in_batches(tenant: Tenant, media_root: Path) -> None:
    old = [store(tenant) for _ in range(5)]
    kept = store(tenant)
    for media in old:
        age(media, days=31)
    age(kept, days=29)

    deleted = media_purge(older_than=timedelta(days=30), batch_size=2)

    assert deleted == 5
    assert list(Media.objects.all()) == [kept]
    assert [p for p in media_root.rglob("*") if p.is_file()] == [media_root / kept.storage_name]


def test_purge_task_uses_the_retention_setting(
    tenant: Tenant, settings: Any, media_root: Path
) -> None:
    settings.MEDIA_RETENTION_DAYS = 2
    old, young = store(tenant), store(tenant)
    age(old, days=3)
    age(young, days=1)

    assert media_purge_task() == 1
    assert list(Media.objects.all()) == [young]
    assert not (media_root / old.storage_name).exists()


def test_purge_removes_uploads_a_killed_worker_left(tenant: Tenant, media_root: Path) -> None:
    store(tenant)  # creates the incoming folder
    incoming = media_root / ".incoming"
    stale = incoming / "gateway-media-upload-stale"
    fresh = incoming / "gateway-media-upload-fresh"
    stale.write_bytes(b"x")
    fresh.write_bytes(b"x")
    two_days_ago = (timezone.now() - timedelta(days=2)).timestamp()
    os.utime(stale, (two_days_ago, two_days_ago))

    media_purge(older_than=timedelta(days=30))

    assert not stale.exists()
    assert fresh.exists()


def test_beat_runs_the_purge_task_hourly(settings: Any) -> None:
    from genesys_gateway.celery import app

    entry = settings.CELERY_BEAT_SCHEDULE["media-purge"]
    assert entry["schedule"] == 3600.0
    app.loader.import_default_modules()
    assert app.tasks[entry["task"]].run is media_purge_task.run
