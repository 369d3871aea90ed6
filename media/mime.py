"""MIME types the gateway can vouch for, told apart by their first bytes (magic numbers).

Only types listed here can be allowed (MEDIA_ALLOWED_TYPES is checked against them at
start-up), so the gateway never hosts bytes it cannot recognise.
"""

from collections.abc import Callable

# Bytes read before the type is checked; every signature below fits in it.
HEAD_BYTES = 32


def _starts(*prefixes: bytes) -> Callable[[bytes], bool]:
    return lambda head: head.startswith(prefixes)


def _iso_media(*brands: bytes) -> Callable[[bytes], bool]:
    """ISO base media files (MP4, 3GP): a box size, then `ftyp` and the major brand."""

    def check(head: bytes) -> bool:
        return head[4:8] == b"ftyp" and (not brands or head[8:12].startswith(brands))

    return check


def _mpeg_audio(head: bytes) -> bool:
    if head.startswith(b"ID3"):
        return True
    # A bare MPEG audio frame: 11 sync bits, then a layer other than "reserved".
    return len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0 and head[1] & 0x06 != 0


def _riff(form: bytes) -> Callable[[bytes], bool]:
    return lambda head: head.startswith(b"RIFF") and head[8:12] == form


SIGNATURES: dict[str, Callable[[bytes], bool]] = {
    "image/jpeg": _starts(b"\xff\xd8\xff"),
    "image/png": _starts(b"\x89PNG\r\n\x1a\n"),
    "image/gif": _starts(b"GIF87a", b"GIF89a"),
    "image/webp": _riff(b"WEBP"),
    "video/mp4": _iso_media(),
    "video/3gpp": _iso_media(b"3gp"),
    "audio/mp4": _iso_media(b"M4A", b"mp4", b"isom"),
    "audio/mpeg": _mpeg_audio,
    "audio/ogg": _starts(b"OggS"),
    "audio/amr": _starts(b"#!AMR\n"),
    "application/pdf": _starts(b"%PDF-"),
}

EXTENSIONS = {
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/gif": ".gif",
    "image/webp": ".webp",
    "video/mp4": ".mp4",
    "video/3gpp": ".3gp",
    "audio/mp4": ".m4a",
    "audio/mpeg": ".mp3",
    "audio/ogg": ".ogg",
    "audio/amr": ".amr",
    "application/pdf": ".pdf",
}


def mime_normalize(content_type: str) -> str:
    """`Audio/OGG; codecs=opus` -> `audio/ogg`."""
    return content_type.split(";", 1)[0].strip().lower()


def mime_matches(*, mime: str, head: bytes) -> bool:
    """Whether the file's first bytes are what `mime` files start with."""
    check = SIGNATURES.get(mime)
    return check is not None and check(head)
