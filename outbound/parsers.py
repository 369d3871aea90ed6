"""The API's JSON parser: bodies capped while they are read, nesting checked before parsing.

DRF's own JSONParser reads the whole stream (Django's DATA_UPLOAD_MAX_MEMORY_SIZE only
guards `request.body`, which DRF does not use) and hands it to the recursive `json`
decoder, where a deeply nested body raises RecursionError: a 500. docs/api.md has the
limits.
"""

import io
import re
from collections.abc import Mapping
from typing import IO, Any

from rest_framework import parsers
from rest_framework.exceptions import APIException, ParseError

# The largest API body is a message with 10 attachments and 50 metadata entries, well
# under this; media uploads will have their own limit and parser.
MAX_BODY_BYTES = 64 * 1024
# Our deepest body nests 4 levels (message -> attachments -> item -> field).
MAX_DEPTH = 32

_OPENERS = frozenset(b"[{")
_CLOSERS = frozenset(b"]}")
_QUOTE, _BACKSLASH = ord('"'), ord("\\")
# The only bytes the depth scan must look at.
_STRUCTURAL = re.compile(rb'[\[\]{}"\\]')


class RequestTooLarge(APIException):
    # A DRF exception, not a ProblemError: DRF imports this module while
    # genesys_gateway.problems is still importing DRF. The handler turns default_code
    # into the problem type and reads `title`.
    status_code = 413
    default_code = "request_too_large"
    default_detail = f"The body may be at most {MAX_BODY_BYTES} bytes."
    title = "Request body too large"


def json_nesting_exceeds(data: bytes, limit: int) -> bool:
    """Whether JSON `data` opens more than `limit` arrays/objects at once (a linear scan).

    Brackets inside strings do not count. Malformed input may be miscounted, but the
    decoder then rejects it anyway; what matters is that a body passing here cannot
    make the decoder recurse deeper than `limit`.
    """
    if data.count(b"[") + data.count(b"{") <= limit:
        return False
    depth = 0
    in_string = False
    skip_to = -1
    for match in _STRUCTURAL.finditer(data):
        position = match.start()
        if position < skip_to:
            continue  # the character after a backslash
        byte = data[position]
        if byte == _BACKSLASH:
            skip_to = position + 2
        elif byte == _QUOTE:
            in_string = not in_string
        elif in_string:
            continue
        elif byte in _OPENERS:
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False


def body_read(stream: IO[bytes], *, declared: int, limit: int) -> bytes:
    """At most `limit` bytes of the body; RequestTooLarge as soon as there are more."""
    if declared > limit:
        raise RequestTooLarge(f"The body may be at most {limit} bytes.")
    chunks: list[bytes] = []
    size = 0
    while chunk := stream.read(limit + 1 - size):
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            raise RequestTooLarge(f"The body may be at most {limit} bytes.")
    return b"".join(chunks)


class BoundedJSONParser(parsers.JSONParser):
    """JSON bodies of at most MAX_BODY_BYTES, nested at most MAX_DEPTH deep."""

    max_body_bytes = MAX_BODY_BYTES
    max_depth = MAX_DEPTH

    def parse(
        self,
        stream: IO[Any],
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        request = (parser_context or {}).get("request")
        meta = request.META if request is not None else {}
        try:
            declared = int(meta.get("CONTENT_LENGTH") or 0)
        except ValueError:
            declared = 0
        data = body_read(stream, declared=declared, limit=self.max_body_bytes)
        if json_nesting_exceeds(data, self.max_depth):
            raise ParseError(f"JSON nested deeper than {self.max_depth} levels.")
        try:
            return super().parse(io.BytesIO(data), media_type, parser_context)
        except RecursionError:
            # Not reachable past the depth check; kept so no body can ever be a 500.
            raise ParseError("JSON nested too deeply.") from None
