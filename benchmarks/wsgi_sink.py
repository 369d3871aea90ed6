"""A WSGI app that reads a request body in 64 KiB chunks and throws it away.

The media benchmark's second baseline: what gunicorn itself reads per second, with no
Django, no hashing and no file, so the upload figure can be split into server and gateway.
"""

from collections.abc import Callable, Iterable
from typing import Any


def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    stream = environ["wsgi.input"]
    received = 0
    while chunk := stream.read(64 * 1024):
        received += len(chunk)
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [str(received).encode()]
