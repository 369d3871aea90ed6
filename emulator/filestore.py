"""The file records the emulator keeps (State.files), and its sample photo.

A leaf module: State seeds the sample from here; emulator.files serves and fetches.
"""

from __future__ import annotations

import hashlib
import struct
import zlib
from typing import Any

SAMPLE_NAME = "photo.png"


def sample_png(width: int = 48, height: int = 32) -> bytes:
    """A real (decodable) PNG: a colour gradient, built with zlib alone."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    rows = b"".join(
        b"\x00" + bytes(v for x in range(width) for v in (x * 5 % 256, y * 8 % 256, 160))
        for y in range(height)
    )
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def file_record(*, name: str, data: bytes, mime: str, origin: str) -> dict[str, Any]:
    return {
        "name": name,
        "mime": mime,
        "size": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
        "origin": origin,  # "sample", "upload" or "fetched"
        "data": data,
    }


def files_initial() -> dict[str, dict[str, Any]]:
    """What a fresh (or reset) emulator serves: the sample photo."""
    sample = file_record(name=SAMPLE_NAME, data=sample_png(), mime="image/png", origin="sample")
    return {SAMPLE_NAME: sample}
