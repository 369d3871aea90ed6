"""Request, response and route types shared by the Genesys API and the control endpoints."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from emulator.errors import ApiError, bad_request
from emulator.validation import Issue, require, validate


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names
    body: bytes
    context_id: str
    params: dict[str, str] = field(default_factory=dict)
    # Filled by check(): which SDK model the body was checked against, and what was wrong.
    model: str | None = None
    issues: list[Issue] | None = None

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default

    def args(self, name: str) -> list[str]:
        """All values of a repeatable parameter, also split on commas (expand=a,b)."""
        return [part for value in self.query.get(name, []) for part in value.split(",") if part]

    def int_arg(self, name: str, default: int) -> int:
        raw = self.arg(name)
        if raw is None:
            return default
        try:
            return int(raw)
        except ValueError:
            raise bad_request([Issue(name, "expected an integer")]) from None

    def json(self) -> Any:
        content_type = self.headers.get("content-type", "")
        if self.body and not content_type.split(";")[0].strip().endswith("json"):
            raise ApiError(
                415,
                f"Content-Type {content_type or '(none)'} is not supported; use application/json.",
                code="unsupported.media.type",
            )
        if not self.body:
            raise bad_request([Issue("$", "a JSON body is required")])
        try:
            return json.loads(self.body)
        except (ValueError, UnicodeDecodeError):
            raise bad_request([Issue("$", "the body is not valid JSON")]) from None

    def check(
        self,
        model: str,
        *,
        required: list[str] | None = None,
        overrides: dict[str, str] | None = None,
        extra: Callable[[Any], list[Issue]] | None = None,
    ) -> Any:
        """The JSON body, checked against an SDK model; 400 ErrorBody when it does not fit."""
        self.model = model
        try:
            body = self.json()
        except ApiError as exc:
            self.issues = exc.issues
            raise
        issues = validate(body, model, overrides)
        if isinstance(body, dict):
            issues += require(body, required or [])
            if extra is not None:
                issues += extra(body)
        self.issues = issues
        if issues:
            raise bad_request(issues)
        return body


@dataclass
class Response:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"

    def encoded(self) -> bytes:
        if self.body is None:
            return b""
        if isinstance(self.body, bytes):
            return self.body
        return json.dumps(self.body).encode()


Handler = Callable[[Request], Response]


@dataclass
class Route:
    method: str
    pattern: re.Pattern[str]
    handler: Handler
    authenticated: bool = True


def route(method: str, path: str, handler: Handler, *, authenticated: bool = True) -> Route:
    """'/api/v2/users/{userId}' -> a Route whose regex captures userId."""
    regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", path)
    return Route(method, re.compile(f"^{regex}$"), handler, authenticated)


def resolve(routes: list[Route], method: str, path: str) -> tuple[Route, dict[str, str]]:
    """The route for method and path; ApiError 404 (no such path) or 405 (wrong method)."""
    path_matched = False
    for candidate in routes:
        match = candidate.pattern.match(path)
        if match is None:
            continue
        path_matched = True
        if candidate.method == method:
            return candidate, match.groupdict()
    if path_matched:
        raise ApiError(405, f"HTTP method {method} is not supported for {path}.")
    raise ApiError(404, f"No resource found at {path}.", code="not.found")
