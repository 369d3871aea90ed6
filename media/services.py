"""Storing, signing, resolving and purging media. See docs/media.md."""

import contextlib
import hashlib
import os
import tempfile
import urllib.parse
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol

import structlog
from django.conf import settings
from django.core.files import File
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from media.errors import MediaEmptyError, MediaTooLargeError, MediaTypeError, MediaUnavailableError
from media.mime import HEAD_BYTES, mime_matches, mime_normalize
from media.models import Media
from media.signing import media_token_make
from media.storage import media_incoming_dir, media_storage, media_storage_name
from tenants.models import Tenant

logger = structlog.get_logger(__name__)

# Read size of the request body: big enough for throughput, small enough for memory.
CHUNK_BYTES = 64 * 1024
FILENAME_MAX_LENGTH = 200
INCOMING_PREFIX = "gateway-media-upload-"


class Readable(Protocol):
    def read(self, size: int = ..., /) -> bytes: ...


@dataclass(frozen=True)
class SignedMediaUrl:
    url: str
    expires_at: datetime


@dataclass
class _Spooled:
    path: Path
    size: int
    sha256: str
    head: bytes


class _SpooledFile(File):
    """An upload already on disk: FileSystemStorage moves it instead of copying it."""

    def __init__(self, spooled: _Spooled) -> None:
        super().__init__(spooled.path.open("rb"), name=spooled.path.name)
        self._path = spooled.path

    def temporary_file_path(self) -> str:
        return str(self._path)


@contextlib.contextmanager
def _spool(*, stream: Readable, limit: int) -> Iterator[_Spooled]:
    """Copy the stream to a temporary file in chunks, hashing it; 413 past `limit` bytes."""
    handle, name = tempfile.mkstemp(prefix=INCOMING_PREFIX, dir=media_incoming_dir())
    path = Path(name)
    try:
        hasher, size, head = hashlib.sha256(), 0, b""
        with os.fdopen(handle, "wb") as output:
            while chunk := stream.read(CHUNK_BYTES):
                size += len(chunk)
                if size > limit:
                    raise MediaTooLargeError(f"The upload exceeds {limit} bytes.")
                if len(head) < HEAD_BYTES:
                    head += chunk[: HEAD_BYTES - len(head)]
                hasher.update(chunk)
                output.write(chunk)
        yield _Spooled(path=path, size=size, sha256=hasher.hexdigest(), head=head)
    finally:
        path.unlink(missing_ok=True)  # gone already when the storage moved it


def media_filename_clean(raw: str) -> str:
    """A display name from an X-Filename header: no folders, no control characters."""
    name = urllib.parse.unquote(raw).replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch.isprintable() and ch not in '"')
    return name.strip()[:FILENAME_MAX_LENGTH]


def media_store(
    *,
    tenant: Tenant,
    stream: Readable,
    content_type: str,
    content_length: int | None = None,
    filename: str = "",
) -> Media:
    """Store an upload read from `stream` without holding it in memory.

    Checks, in order: the declared type is allowed (415), the declared length (413), then
    while reading the length again (413), emptiness (400) and that the bytes are of the
    declared type (415). Nothing is stored when a check fails.
    """
    mime = mime_normalize(content_type)
    if mime not in settings.MEDIA_ALLOWED_TYPES:
        allowed = ", ".join(settings.MEDIA_ALLOWED_TYPES)
        raise MediaTypeError(f"Content-Type {mime or '(none)'!r} is not accepted; use {allowed}.")
    limit = settings.MEDIA_MAX_BYTES
    if content_length is not None and content_length > limit:
        raise MediaTooLargeError(f"The upload exceeds {limit} bytes.")
    media_id, now = uuid.uuid4(), timezone.now()
    name = media_storage_name(tenant_slug=tenant.slug, media_id=media_id, created_at=now)
    storage = media_storage()
    with _spool(stream=stream, limit=limit) as spooled:
        if spooled.size == 0:
            raise MediaEmptyError("The request body is empty.")
        if not mime_matches(mime=mime, head=spooled.head):
            raise MediaTypeError(f"The content is not {mime}.")
        upload = _SpooledFile(spooled)
        try:
            stored_name = storage.save(name, upload)
        finally:
            upload.close()
    try:
        media = Media.objects.create(
            id=media_id,
            tenant=tenant,
            mime=mime,
            size=spooled.size,
            sha256=spooled.sha256,
            filename=media_filename_clean(filename),
            storage_name=stored_name,
            created_at=now,
        )
    except BaseException:
        storage.delete(stored_name)
        raise
    logger.info("media stored", media_id=str(media_id), mime=mime, size=spooled.size)
    return media


def media_url_sign(*, media: Media, ttl: timedelta | None = None) -> SignedMediaUrl:
    """An absolute URL anyone can fetch the bytes from until it expires (default TTL:
    MEDIA_URL_TTL_S). No credentials needed: the URL itself is the secret."""
    ttl = ttl if ttl is not None else timedelta(seconds=settings.MEDIA_URL_TTL_S)
    expires_at = (timezone.now() + ttl).replace(microsecond=0)
    token = media_token_make(media_id=media.id, expires_at=expires_at)
    path = reverse("media-download", kwargs={"token": token})
    return SignedMediaUrl(
        url=settings.MEDIA_PUBLIC_BASE_URL.rstrip("/") + path, expires_at=expires_at
    )


def media_retention_cutoff() -> datetime:
    return timezone.now() - timedelta(days=settings.MEDIA_RETENTION_DAYS)


def media_resolve(*, tenant: Tenant, media_id: str | uuid.UUID) -> Media:
    """The tenant's media with this id; MediaUnavailableError (a 400 problem) when the id
    is malformed, unknown, another tenant's or past MEDIA_RETENTION_DAYS."""
    try:
        key = media_id if isinstance(media_id, uuid.UUID) else uuid.UUID(str(media_id))
    except ValueError:
        raise MediaUnavailableError(f"media_id {media_id!r} is not a media id.") from None
    media = Media.objects.filter(
        id=key, tenant=tenant, created_at__gt=media_retention_cutoff()
    ).first()
    if media is None:
        raise MediaUnavailableError(f"media_id {key} is unknown or has expired.")
    return media


def media_purge(*, older_than: timedelta, batch_size: int = 500) -> int:
    """Delete media (file, then row) created before now - older_than, a batch at a time.

    Safe to run concurrently: each batch is claimed with SKIP LOCKED. A file that cannot
    be deleted keeps its row, so the next run tries again. Returns the rows deleted.
    """
    cutoff = timezone.now() - older_than
    storage = media_storage()
    deleted = 0
    while True:
        with transaction.atomic():
            batch = list(
                Media.objects.select_for_update(skip_locked=True)
                .filter(created_at__lt=cutoff)
                .order_by("created_at")
                .values_list("id", "storage_name")[:batch_size]
            )
            if not batch:
                break
            gone = []
            for media_id, name in batch:
                try:
                    storage.delete(name)
                except OSError:
                    logger.warning("media file not deleted", media_id=str(media_id))
                    continue
                gone.append(media_id)
            Media.objects.filter(id__in=gone).delete()
        deleted += len(gone)
        if len(gone) < len(batch):
            break  # the failures would be claimed again at once; leave them for next run
    _incoming_purge(older_than=timedelta(days=1))
    if deleted:
        logger.info("media purged", count=deleted)
    return deleted


def _incoming_purge(*, older_than: timedelta) -> None:
    """Remove uploads a killed worker left half-written."""
    folder = media_incoming_dir()
    if folder is None or not folder.is_dir():
        return
    cutoff = (timezone.now() - older_than).timestamp()
    for leftover in folder.glob(INCOMING_PREFIX + "*"):
        with contextlib.suppress(FileNotFoundError):
            if leftover.stat().st_mtime < cutoff:
                leftover.unlink()
