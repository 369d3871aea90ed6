"""The download answer: the stored bytes, streamed, whole or one range of them."""

from collections.abc import Iterator
from datetime import datetime
from typing import IO, Any

import structlog
from django.conf import settings
from django.http import (
    FileResponse,
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    HttpResponseRedirect,
    StreamingHttpResponse,
)
from django.utils import timezone
from django.utils.http import content_disposition_header, http_date

from genesys_gateway.problems import problem_response
from media.mime import EXTENSIONS
from media.models import Media
from media.ranges import RangeNotSatisfiableError, byte_range
from media.storage import media_local_path, media_storage

logger = structlog.get_logger(__name__)

# Block size of the streamed body when the server cannot sendfile() it.
STREAM_CHUNK_BYTES = 256 * 1024


def _file_range(handle: IO[bytes], *, start: int, length: int) -> Iterator[bytes]:
    try:
        handle.seek(start)
        while length > 0:
            chunk = handle.read(min(STREAM_CHUNK_BYTES, length))
            if not chunk:
                return
            length -= len(chunk)
            yield chunk
    finally:
        handle.close()


def _headers(media: Media, *, expires_at: datetime) -> dict[str, str]:
    filename = media.filename or f"{media.id}{EXTENSIONS.get(media.mime, '')}"
    max_age = max(0, int((expires_at - timezone.now()).total_seconds()))
    return {
        "Content-Disposition": content_disposition_header(False, filename) or "inline",
        "ETag": f'"{media.sha256}"',
        "Last-Modified": http_date(media.created_at.timestamp()),
        # The bytes behind a media id never change; the URL is a credential, so no
        # shared cache may keep it.
        "Cache-Control": f"private, max-age={max_age}, immutable",
        "Accept-Ranges": "bytes",
    }


def _wanted_range(request: HttpRequest, *, size: int, etag: str) -> tuple[int, int] | None:
    range_header = request.headers.get("Range", "")
    if_range = request.headers.get("If-Range")
    if if_range is not None and if_range != etag:
        return None  # the client's partial copy is of other bytes
    return byte_range(range_header, size=size)


def media_not_found() -> HttpResponse:
    return problem_response(
        status=404,
        title="Not found",
        detail="This media link is invalid or has expired.",
        slug="not-found",
    )


def media_file_response(
    *, request: HttpRequest, media: Media, expires_at: datetime
) -> HttpResponseBase:
    """200 with the whole file, 206 with one range, 304, or 416; HEAD gets the headers."""
    headers = _headers(media, expires_at=expires_at)
    if headers["ETag"] in request.headers.get("If-None-Match", ""):
        return HttpResponse(status=304, headers=headers)
    try:
        wanted = _wanted_range(request, size=media.size, etag=headers["ETag"])
    except RangeNotSatisfiableError:
        response = problem_response(
            status=416,
            title="Range not satisfiable",
            detail=f"The file has {media.size} bytes.",
            slug="range-not-satisfiable",
        )
        response["Content-Range"] = f"bytes */{media.size}"
        return response
    start, end = wanted if wanted is not None else (0, media.size - 1)
    length = end - start + 1
    if request.method == "HEAD":
        head = HttpResponse(content_type=media.mime, headers=headers)
        head["Content-Length"] = str(length)
        if wanted is not None:
            head.status_code = 206
            head["Content-Range"] = f"bytes {start}-{end}/{media.size}"
        return head
    path = media_local_path(media.storage_name)
    if path is None:
        return media_remote_redirect(media=media, headers=headers)
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        logger.warning("media file missing", media_id=str(media.id))
        return media_not_found()
    streamed: StreamingHttpResponse
    if wanted is None:
        # FileResponse lets gunicorn sendfile() the whole file.
        streamed = FileResponse(handle, content_type=media.mime)
        streamed.block_size = STREAM_CHUNK_BYTES
    else:
        streamed = StreamingHttpResponse(
            _file_range(handle, start=start, length=length), status=206, content_type=media.mime
        )
        streamed["Content-Range"] = f"bytes {start}-{end}/{media.size}"
    for name, value in headers.items():
        streamed[name] = value
    streamed["Content-Length"] = str(length)
    return streamed


def media_remote_redirect(*, media: Media, headers: dict[str, str]) -> HttpResponse:
    """To a short-lived presigned URL of the object store, which then serves the bytes
    (and any Range) itself; the headers it answers with are the ones asked for here."""
    # S3Storage.url takes these; Django's Storage.url signature does not know them.
    storage: Any = media_storage()
    url = storage.url(
        media.storage_name,
        parameters={
            "ResponseContentType": media.mime,
            "ResponseContentDisposition": headers["Content-Disposition"],
            "ResponseCacheControl": "private, no-store",
        },
        expire=settings.MEDIA_S3_PRESIGN_TTL_S,
    )
    response = HttpResponseRedirect(url)
    response["Cache-Control"] = "no-store"  # the target expires within minutes
    return response
