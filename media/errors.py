"""Media errors; each knows its problem answer (genesys_gateway/problems.py)."""

from genesys_gateway.problems import ProblemError


class MediaTooLargeError(ProblemError):
    status = 413
    slug = "media-too-large"
    title = "Media too large"


class MediaTypeError(ProblemError):
    """A type outside MEDIA_ALLOWED_TYPES, or bytes that are not of the declared type."""

    status = 415
    slug = "unsupported-media-type"
    title = "Unsupported media type"


class MediaEmptyError(ProblemError):
    status = 400
    slug = "media-empty"
    title = "Empty upload"


class MediaUnavailableError(ProblemError):
    """A media_id that is unknown, another tenant's, or past its retention."""

    status = 400
    slug = "media-unavailable"
    title = "Unknown media"


class MediaLinkInvalidError(Exception):
    """A download token that was tampered with, has expired or names deleted media."""
