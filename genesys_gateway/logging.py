"""JSON log lines on stdout, with request id, tenant and conversation id when known."""

import functools
import logging
import logging.config
import re
import sys
from collections.abc import Mapping
from typing import Any

import orjson
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


# Keys of the per-request line and the log context: never secrets, checked without the regex.
_SAFE_KEYS = frozenset(
    {
        "event",
        "method",
        "path",
        "status",
        "duration_ms",
        "request_id",
        "tenant",
        "integration_id",
        "conversation_id",
        "result",
        "level",
        "logger",
        "timestamp",
    }
)


def redact_secrets(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    """Replace the value of any secret-looking key with a marker, in nested values too."""
    # Most lines are flat and name nothing secret-looking: those pass as they are (the
    # dict is structlog's own copy for this line, so nothing else sees it).
    for key, value in event_dict.items():
        if type(value) not in _SCALARS or (key not in _SAFE_KEYS and _is_secret_key(key)):
            break
    else:
        return event_dict
    redacted: EventDict = _redacted(event_dict, 0)
    return redacted


# What every line gets, whoever logged it: structlog here, or a stdlib logger (Django,
# Celery, libraries) through the handler's ProcessorFormatter.
SHARED_PROCESSORS: list[Any] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
    redact_secrets,
]


def _json_fallback(value: Any) -> Any:
    """What a value JSON cannot encode becomes: its `__structlog__()`, else its repr
    (structlog's own rule)."""
    try:
        return value.__structlog__()
    except AttributeError:
        return repr(value)


def _json_dumps(event_dict: Any, **_: Any) -> str:
    """The line's JSON, by orjson: 0.5 us for a webhook's line against json.dumps' 4.7, and
    encoding was the largest part of a line. Keys that are not strings (a dict of counts by
    status) become strings, as with json."""
    return orjson.dumps(event_dict, default=_json_fallback, option=orjson.OPT_NON_STR_KEYS).decode()


# Everything a structlog line passes through, in order, ending in its JSON text.
_PROCESSORS: list[Any] = [
    *SHARED_PROCESSORS,
    structlog.processors.format_exc_info,
    structlog.processors.JSONRenderer(serializer=_json_dumps),
]

_LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "warn": logging.WARNING,
    "error": logging.ERROR,
    "exception": logging.ERROR,
    "critical": logging.CRITICAL,
    "fatal": logging.CRITICAL,
}


class JsonLineLogger:
    """Where structlog's rendered lines go: the root handler's stream, under its lock.

    Going through stdlib logging instead (a LogRecord, the handler chain, then a
    ProcessorFormatter that copies the record and runs the processors again) cost more
    than the rest of a `/healthz`. Writing under the handler's own lock keeps these lines
    whole next to the stdlib records the same handler writes, and whatever stream the
    handler is given (tests swap it) receives both. The handler is the one the latest
    `configure` installed: loggers are cached and may outlive a reconfiguration.
    """

    __slots__ = ("_stdlib", "name")

    def __init__(self, stdlib_logger: logging.Logger) -> None:
        self.name = stdlib_logger.name
        self._stdlib = stdlib_logger

    def isEnabledFor(self, level: int) -> bool:  # stdlib's name
        # The stdlib logger's levels still decide (LOG_LEVEL, per-logger levels), and it
        # caches the answer.
        return self._stdlib.isEnabledFor(level)

    def write(self, line: str) -> None:
        handler = _output
        with handler.lock:  # type: ignore[union-attr]  # created by the handler's __init__
            handler.stream.write(line + "\n")
            handler.stream.flush()

    debug = info = warning = warn = error = exception = critical = fatal = msg = write


# The root handler every JSON line goes to; replaced by each `configure`.
_output = logging.StreamHandler(sys.stdout)


class LevelFilteringBoundLogger(structlog.stdlib.BoundLogger):
    """structlog's stdlib-like logger that drops a line below the level before any
    processor runs (structlog's filter_by_level raises an exception for each one)."""

    def _proxy_to_logger(
        self, method_name: str, event: str | None = None, *event_args: Any, **event_kw: Any
    ) -> Any:
        if not self._logger.isEnabledFor(_LEVELS.get(method_name, logging.CRITICAL)):
            return None
        return super()._proxy_to_logger(method_name, event, *event_args, **event_kw)


def configure(config: dict[str, Any]) -> None:
    """JSON lines on stdout: structlog's written directly, stdlib records formatted alike."""
    global _output
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=SHARED_PROCESSORS,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                structlog.processors.JSONRenderer(serializer=_json_dumps),
            ],
        )
    )
    logging.config.dictConfig(
        {
            "version": 1,
            "disable_existing_loggers": False,
            "root": {"level": config.get("level", "INFO")},
            # runserver's access log duplicates our own request line.
            "loggers": {"django.server": {"level": "WARNING"}},
        }
    )
    logging.getLogger().addHandler(handler)
    _output = handler
    # The stdlib factory names a logger created without a name after its caller's module.
    stdlib_factory = structlog.stdlib.LoggerFactory(ignore_frame_names=[__name__])

    def logger_factory(*args: Any) -> JsonLineLogger:
        return JsonLineLogger(stdlib_factory(*args))

    structlog.configure(
        processors=_PROCESSORS,
        logger_factory=logger_factory,
        wrapper_class=LevelFilteringBoundLogger,
        cache_logger_on_first_use=True,
    )


class DirectLogger:
    """An INFO-only logger whose lines are exactly structlog's (the same processors, the
    same context, the same handler) without structlog's bound-logger layers.

    For the line every request writes (genesys_gateway.middleware): those layers cost a
    third of the line, about 10 us of a `/healthz` that costs 90 (docs/benchmarks.md).
    Anything else logs through structlog as usual.
    """

    __slots__ = ("_line",)

    def __init__(self, name: str) -> None:
        self._line = JsonLineLogger(logging.getLogger(name))

    def info(self, event: str, **fields: Any) -> None:
        line = self._line
        if not line.isEnabledFor(logging.INFO):
            return
        # structlog's order: the call's fields, then the event, then what processors add.
        event_dict: Any = fields
        event_dict["event"] = event
        for processor in _PROCESSORS:
            event_dict = processor(line, "info", event_dict)
        line.write(event_dict)
