"""Reading an upload's body straight from the WSGI stream."""

from django.http import HttpRequest

from media.services import Readable


def media_upload_stream(request: HttpRequest) -> tuple[Readable, int | None]:
    """The request body as a stream, and its declared length (None when chunked).

    Django reads nothing of a chunked body (it trusts Content-Length alone), so a chunked
    upload is read from the server's decoded input stream directly.
    """
    if "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower():
        stream: Readable = request.META["wsgi.input"]
        return stream, None
    return request, int(request.META.get("CONTENT_LENGTH") or 0)
