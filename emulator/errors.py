"""Genesys ErrorBody responses (SDK model ErrorBody / Detail)."""

from __future__ import annotations

import uuid
from typing import Any

from emulator.validation import Issue

_CODES = {
    400: "bad.request",
    401: "authentication.required",
    403: "forbidden",
    404: "not.found",
    405: "method.not.allowed",
    409: "conflict",
    429: "too.many.requests",
    500: "internal.server.error",
}


class ApiError(Exception):
    """Raised by handlers; the server turns it into an ErrorBody response."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        issues: list[Issue] | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code or _CODES.get(status, "error")
        self.issues = issues or []
        self.headers = headers or {}
        self.extra = extra or {}

    def body(self, context_id: str | None = None) -> dict[str, Any]:
        return error_body(
            self.status,
            self.message,
            code=self.code,
            issues=self.issues,
            context_id=context_id,
            extra=self.extra,
        )


def error_body(
    status: int,
    message: str,
    *,
    code: str | None = None,
    issues: list[Issue] | None = None,
    context_id: str | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "message": message,
        "code": code or _CODES.get(status, "error"),
        "status": status,
        "messageWithParams": message,
        "messageParams": {},
        "contextId": context_id or str(uuid.uuid4()),
        "details": [
            {"errorCode": "invalid.property", "fieldName": issue.field} for issue in issues or []
        ],
        "errors": [],
    }
    body.update(extra or {})
    return body


def bad_request(issues: list[Issue]) -> ApiError:
    summary = "; ".join(f"{issue.field}: {issue.message}" for issue in issues[:5])
    return ApiError(400, f"The request body is invalid: {summary}", issues=issues)


def not_found(what: str) -> ApiError:
    return ApiError(404, f"The requested {what} was not found.")
