"""JSON safety checks and the coercions every payload reader uses.

Anything PostgreSQL's jsonb could not store, or a Genesys id that would not fit our
columns, raises `PayloadError` (HTTP 400).
"""

import json
import math
from typing import Any

from webhooks.payloads.types import PayloadError


def _reject_constant(name: str) -> Any:
    raise PayloadError(f"{name} is not valid JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e999
        raise PayloadError("The body contains a number out of range.")
    return value


def json_parse(body: bytes) -> Any:
    """Parse a request body; anything PostgreSQL's jsonb could not store is a PayloadError."""
    try:
        value = json.loads(body, parse_constant=_reject_constant, parse_float=_finite_float)
    except PayloadError:
        raise
    except (ValueError, RecursionError) as exc:  # bad UTF-8, bad JSON, absurd nesting
        raise PayloadError("The body is not valid JSON.") from exc
    if not _plainly_storable(body):
        storable_require(value)
    return value


def _plainly_storable(body: bytes) -> bool:
    """Whether the raw body alone shows that `storable_require` would pass, which spares
    walking the parsed value (most webhooks). Floats were checked while parsing. A NUL
    or a lone surrogate can only come from a \\u escape (the parser refuses raw control
    characters) or, for surrogates, from UTF-8 bytes starting 0xED; a body in UTF-16 or
    32 has NUL bytes. Fewer brackets than MAX_DEPTH cannot nest MAX_DEPTH deep. Anything
    else is walked, so a false alarm only costs the walk."""
    return (
        b"\\u" not in body
        and b"\xed" not in body
        and b"\x00" not in body
        and body.count(b"{") + body.count(b"[") < MAX_DEPTH
    )


# Genesys payloads nest about ten levels. Deeper documents are refused: json.dumps,
# psycopg and other recursive walkers downstream raise RecursionError near a thousand
# levels, at a depth that depends on how deep their caller's stack already is.
MAX_DEPTH = 64


def storable_require(value: Any) -> None:
    """Strings must be valid UTF-8 without NUL, numbers finite (jsonb rejects the rest),
    and nesting at most MAX_DEPTH levels deep."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                raise PayloadError("The body contains a NUL character.")
            try:
                item.encode("utf-8")
            except UnicodeEncodeError as exc:  # lone surrogates from \ud800 escapes
                raise PayloadError("The body contains an invalid unicode escape.") from exc
        elif isinstance(item, float) and not math.isfinite(item):
            raise PayloadError("The body contains a number out of range.")
        elif isinstance(item, dict | list):
            if depth >= MAX_DEPTH:
                raise PayloadError(f"The body nests deeper than {MAX_DEPTH} levels.")
            children = [*item.keys(), *item.values()] if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)


def canonical_json(value: Any) -> str:
    """Sorted keys, compact: a re-serialised copy of a payload gives the same text."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def as_str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def as_int(value: Any) -> int | None:
    """An integer, never a bool (JSON true is no number)."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def genesys_id(value: Any, *, name: str, max_length: int, required: bool = True) -> str:
    """A Genesys id: a non-empty string that fits our columns."""
    if not isinstance(value, str) or not value.strip():
        if required:
            raise PayloadError(f"{name} is missing.")
        return ""
    if len(value) > max_length:
        raise PayloadError(f"{name} is longer than {max_length} characters.")
    return value
