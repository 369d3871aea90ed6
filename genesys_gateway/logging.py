"""JSON log lines on stdout, with request id, tenant and conversation id when known."""

import functools
import logging
import logging.config
import re
from collections.abc import Mapping
from typing import Any

import structlog
from structlog.typing import EventDict, WrappedLogger

# Keys whose values never reach a log line, whatever logged them.
_SECRET_KEY = re.compile(r"secret|password|token|authorization|api_key|signature", re.I)


_REDACTED = "[redacted]"
# Most values of a log line; returned as they are without the slower Mapping check.
_SCALARS = frozenset({str, int, float, bool, type(None)})
# Deeper than any payload we log; past it a value is dropped rather than walked forever.
_MAX_DEPTH = 12


@functools.lru_cache(maxsize=1024)
def _is_secret_key(key: str) -> bool:
    # Log lines mostly repeat the same few keys: each is matched once, not per line.
    return bool(_SECRET_KEY.search(key))


def _redacted(value: Any, depth: int) -> Any:
    """A copy of value with every secret-looking key's value replaced, at any depth.

    A copy, so a dict that the caller logs and then keeps using is not changed under it.
    """
    if depth > _MAX_DEPTH:
        return _REDACTED
    if type(value) in _SCALARS:
        return value
    if isinstance(value, Mapping):
        return {
            key: _REDACTED
            if isinstance(key, str) and _is_secret_key(key) and item is not None
            else _redacted(item, depth + 1)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_redacted(item, depth + 1) for item in value]
    if isinstance(value, tuple):  # exc_info is a tuple and must stay one
        return tuple(_redacted(item, depth + 1) for item in value)
    return value


def redact_secrets(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    """Replace the value of any secret-looking key with a marker, in nested values too."""
    redacted: EventDict = _redacted(event_dict, 0)
    return redacted


SHARED_PROCESSORS: list[Any] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
    redact_secrets,
]


def configure(config: dict[str, Any]) -> None:
    """Route stdlib and structlog records through one JSON renderer on stdout."""
    formatter = {
        "()": structlog.stdlib.ProcessorFormatter,
        "foreign_pre_chain": SHARED_PROCESSORS,
        "processors": [
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(),
        ],
    }
    logging.config.dictConfig(
        {
            "version": 1,
            "disable_existing_loggers": False,
            "formatters": {"json": formatter},
            "handlers": {
                "stdout": {
                    "class": "logging.StreamHandler",
                    "stream": "ext://sys.stdout",
                    "formatter": "json",
                }
            },
            "root": {"handlers": ["stdout"], "level": config.get("level", "INFO")},
            # runserver's access log duplicates our own request line.
            "loggers": {"django.server": {"level": "WARNING"}},
        }
    )
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *SHARED_PROCESSORS,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
