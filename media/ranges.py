"""HTTP range requests (RFC 9110 section 14): one byte range per request."""

import re

_SINGLE_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


class RangeNotSatisfiableError(Exception):
    pass


def byte_range(header: str, *, size: int) -> tuple[int, int] | None:
    """(first, last) byte positions, inclusive, or None to send the whole file.

    A missing, malformed or multi-range header means the whole file, as RFC 9110 allows;
    a well-formed range that misses the file raises RangeNotSatisfiableError (416).
    """
    match = _SINGLE_RANGE.match(header.strip())
    if match is None:
        return None
    first, last = match.groups()
    if not first:
        if not last:
            return None
        suffix = int(last)
        if suffix == 0 or size == 0:
            raise RangeNotSatisfiableError
        return max(0, size - suffix), size - 1
    start = int(first)
    if last and int(last) < start:
        return None
    if start >= size:
        raise RangeNotSatisfiableError
    return start, min(int(last), size - 1) if last else size - 1
