"""Check JSON bodies against the official SDK's models (PureCloudPlatformClientV2).

The one checker of the project: the emulator uses it on every request it receives, and the
tests use it on the bodies the gateway builds (tests may import the emulator; production code
never does).

Each SDK model declares `swagger_types` (python name -> type string) and `attribute_map`
(python name -> JSON name); enum constraints live in the property setters. The checker walks a
JSON value against a model: unknown fields, wrong JSON types, values an enum setter rejects and
constraint violations (lengths, ranges) are reported with their JSON path.
"""

from __future__ import annotations

import ast
import inspect
import re
import textwrap
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

OUTDATED = "outdated_sdk_version"  # what SDK setters store for a value outside allowed_values

# SDK 269's OpenEvent lists only eventType, yet Genesys documents (and the inbound typing
# example uses) a `typing` object on each event: inbound events are checked against
# OpenMessageEvent, the class the response uses, which has both.
EVENT_OVERRIDES = {"events": "list[OpenMessageEvent]"}

_LIST = re.compile(r"^list\[(.+)\]$")
_DICT = re.compile(r"^dict\((\w+), (.+)\)$")
# Genesys writes and expects timestamps like 2026-01-31T12:00:00.000Z.
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$")


@dataclass(frozen=True)
class Issue:
    """One problem found in a body, addressed by its JSON path."""

    field: str
    message: str


@cache
def _models() -> Any:
    # Importing the SDK takes a few seconds (thousands of modules), so only on first use.
    import PureCloudPlatformClientV2.models as models

    return models


@cache
def model_fields(model: str) -> dict[str, tuple[str, str]]:
    """JSON name -> (python attribute name, swagger type) of an SDK model."""
    instance = getattr(_models(), model)()
    return {
        instance.attribute_map[attr]: (attr, type_name)
        for attr, type_name in instance.swagger_types.items()
    }


def model_exists(model: str) -> bool:
    return hasattr(_models(), model)


@cache
def allowed_values(model: str, attr: str) -> tuple[str, ...] | None:
    """The enum values the model's setter declares for attr, or None when it is no enum."""
    prop = getattr(getattr(_models(), model), attr, None)
    if not isinstance(prop, property) or prop.fset is None:
        return None
    try:
        source = textwrap.dedent(inspect.getsource(prop.fset))
    except (OSError, TypeError):
        return None
    for node in ast.walk(ast.parse(source)):
        if (
            isinstance(node, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == "allowed_values" for t in node.targets)
            and isinstance(node.value, ast.List)
        ):
            return tuple(
                elt.value
                for elt in node.value.elts
                if isinstance(elt, ast.Constant) and isinstance(elt.value, str)
            )
    return None


def _check_setter(model: str, attr: str, value: Any, path: str) -> Issue | None:
    """Let the SDK's own setter judge a scalar: enums and length/range constraints."""
    instance = getattr(_models(), model)()
    try:
        setattr(instance, attr, value)
    except (ValueError, TypeError) as exc:
        return Issue(path, str(exc))
    stored = getattr(instance, f"_{attr}", value)
    allowed = allowed_values(model, attr)
    # The setter compares case-insensitively; Genesys' JSON enums are exact, so we are too.
    if (stored == OUTDATED and value != OUTDATED) or (
        allowed is not None and isinstance(value, str) and value not in allowed
    ):
        choices = ", ".join(allowed or ())
        return Issue(path, f"invalid value {value!r}; allowed: {choices}")
    return None


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _check_value(
    value: Any, type_name: str, path: str, overrides: dict[str, str], issues: list[Issue]
) -> None:
    if value is None:
        return  # Genesys treats an explicit null like an absent optional field
    if match := _LIST.match(type_name):
        if not isinstance(value, list):
            issues.append(Issue(path, f"expected an array, got {_type_name(value)}"))
            return
        for index, item in enumerate(value):
            _check_value(item, match.group(1), f"{path}[{index}]", overrides, issues)
        return
    if match := _DICT.match(type_name):
        if not isinstance(value, dict):
            issues.append(Issue(path, f"expected an object, got {_type_name(value)}"))
            return
        for key, item in value.items():
            _check_value(item, match.group(2), f"{path}.{key}", overrides, issues)
        return
    expected = _primitive_check(value, type_name)
    if expected is not None:
        if expected:
            issues.append(Issue(path, f"expected {expected}, got {_type_name(value)}"))
        return
    if model_exists(type_name):
        _check_model(value, type_name, path, overrides, issues)
        return
    # A type string we do not know stays unchecked rather than failing a valid body.


def _primitive_check(value: Any, type_name: str) -> str | None:
    """'' if value fits primitive type_name, else what was expected; None: not a primitive."""
    if type_name == "str":
        return "" if isinstance(value, str) else "a string"
    if type_name in ("int", "long"):
        ok = isinstance(value, int) and not isinstance(value, bool)
        return "" if ok else "an integer"
    if type_name in ("float", "double"):
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return "" if ok else "a number"
    if type_name == "bool":
        return "" if isinstance(value, bool) else "a boolean"
    if type_name == "datetime":
        ok = isinstance(value, str) and bool(_DATETIME.match(value)) and _is_iso_datetime(value)
        return "" if ok else "an ISO-8601 date-time with a time zone"
    if type_name == "date":
        return "" if isinstance(value, str) and _is_iso_datetime(value) else "an ISO-8601 date"
    if type_name == "object":
        return ""
    return None


def _is_iso_datetime(value: str) -> bool:
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


def _check_model(
    value: Any, model: str, path: str, overrides: dict[str, str], issues: list[Issue]
) -> None:
    if not isinstance(value, dict):
        issues.append(Issue(path or "$", f"expected an object ({model}), got {_type_name(value)}"))
        return
    fields = model_fields(model)
    for key, item in value.items():
        field_path = f"{path}.{key}" if path else key
        if key not in fields:
            issues.append(Issue(field_path, f"unknown property for {model}"))
            continue
        attr, type_name = fields[key]
        type_name = overrides.get(field_path_pattern(field_path), type_name)
        before = len(issues)
        _check_value(item, type_name, field_path, overrides, issues)
        if (
            len(issues) == before
            and item is not None
            and type_name in ("str", "int", "float", "double", "long")
        ):
            issue = _check_setter(model, attr, item, field_path)
            if issue is not None:
                issues.append(issue)


def field_path_pattern(path: str) -> str:
    """'events[3].typing' -> 'events[].typing', the form overrides are keyed by."""
    return re.sub(r"\[\d+\]", "[]", path)


def validate(value: Any, model: str, overrides: dict[str, str] | None = None) -> list[Issue]:
    """Every issue found walking value against the SDK model; [] when it fits."""
    issues: list[Issue] = []
    _check_model(value, model, "", overrides or {}, issues)
    return issues


def problems(value: Any, model: str, overrides: dict[str, str] | None = None) -> list[str]:
    """validate() as readable lines ('$.channel.from.nickName: unknown property for ...')."""
    lines = []
    for issue in validate(value, model, overrides):
        where = "$" if issue.field == "$" else f"$.{issue.field}"
        lines.append(f"{where}: {issue.message}")
    return lines


def lookup(value: Any, path: str) -> Any:
    """The value at a dotted path ('channel.from.id'), or None when any step is absent."""
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def require(value: Any, paths: list[str]) -> list[Issue]:
    """Issues for each dotted path that is missing or empty."""
    return [
        Issue(path, "required property is missing")
        for path in paths
        if lookup(value, path) in (None, "", [], {})
    ]
