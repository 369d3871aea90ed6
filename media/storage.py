"""Where media bytes live: the `media` alias of Django's STORAGES setting."""

from datetime import datetime
from pathlib import Path
from uuid import UUID

from django.conf import settings
from django.core.files.storage import FileSystemStorage, Storage, storages

STORAGE_ALIAS = "media"
# Uploads are spooled here first, on the same filesystem as MEDIA_ROOT, so storing one
# is a rename, not a second copy.
INCOMING_DIR = ".incoming"


def media_storage() -> Storage:
    return storages[STORAGE_ALIAS]


def media_storage_name(*, tenant_slug: str, media_id: UUID, created_at: datetime) -> str:
    """`<tenant-slug>/<yyyy>/<mm>/<media_id>`: one prefix per tenant, months to expire."""
    return f"{tenant_slug}/{created_at:%Y}/{created_at:%m}/{media_id}"


def media_incoming_dir() -> Path | None:
    """Folder for uploads in progress; None means the system's temporary folder."""
    storage = media_storage()
    if isinstance(storage, FileSystemStorage):
        path = Path(storage.location) / INCOMING_DIR
        path.mkdir(parents=True, exist_ok=True)
        return path
    temp_dir = settings.FILE_UPLOAD_TEMP_DIR
    return Path(temp_dir) if temp_dir else None


def media_local_path(name: str) -> Path | None:
    """The file's path when the storage is the local filesystem, else None."""
    storage = media_storage()
    if isinstance(storage, FileSystemStorage):
        return Path(storage.path(name))
    return None
