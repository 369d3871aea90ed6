"""Walk a JSON body against the official SDK's models, so a misspelt field fails a test.

PureCloudPlatformClientV2 models declare `swagger_types` (python attribute -> type),
`attribute_map` (python attribute -> JSON name) and enum values in their setters.
"""

import ast
import inspect
import re
from datetime import datetime
from typing import Any

import PureCloudPlatformClientV2.models as sdk

_ALLOWED = re.compile(r"allowed_values = (\[.*?\])", re.S)


def _allowed_values(model: type, attribute: str) -> list[str] | None:
    setter = getattr(model, attribute).fset
    match = _ALLOWED.search(inspect.getsource(setter))
    return ast.literal_eval(match.group(1)) if match else None


def sdk_problems(
    payload: Any,
    model_name: str,
    *,
    overrides: dict[tuple[str, str], str] | None = None,
    path: str = "$",
) -> list[str]:
    """Every way `payload` departs from the SDK model `model_name` (empty: it conforms).

    `overrides` replaces a field's declared type, for the few places where the SDK's
    generic model is narrower than what Genesys documents (the typing event).
    """
    overrides = overrides or {}
    if not isinstance(payload, dict):
        return [f"{path}: expected an object for {model_name}"]
    model = getattr(sdk, model_name)
    instance = model()
    attributes = {json_name: attr for attr, json_name in instance.attribute_map.items()}
    problems = []
    for key, value in payload.items():
        if key not in attributes:
            problems.append(f"{path}.{key}: not a field of {model_name}")
            continue
        attribute = attributes[key]
        type_name = overrides.get((model_name, key), instance.swagger_types[attribute])
        problems += _value_problems(value, type_name, f"{path}.{key}", overrides)
        allowed = _allowed_values(model, attribute)
        if allowed is not None and value not in allowed:
            problems.append(f"{path}.{key}: {value!r} is not one of {allowed}")
    return problems


def _value_problems(
    value: Any, type_name: str, path: str, overrides: dict[tuple[str, str], str]
) -> list[str]:
    if type_name.startswith("list["):
        if not isinstance(value, list):
            return [f"{path}: expected a list"]
        inner = type_name[5:-1]
        return [
            p
            for i, v in enumerate(value)
            for p in _value_problems(v, inner, f"{path}[{i}]", overrides)
        ]
    if type_name.startswith("dict("):
        if not isinstance(value, dict):
            return [f"{path}: expected an object"]
        inner = type_name[5:-1].split(", ", 1)[1]
        return [
            p for k, v in value.items() for p in _value_problems(v, inner, f"{path}.{k}", overrides)
        ]
    simple = {"str": str, "bool": bool, "int": int, "float": (int, float), "object": object}
    if type_name in simple:
        expected = simple[type_name]
        if not isinstance(value, expected) or (type_name == "int" and isinstance(value, bool)):
            return [f"{path}: expected {type_name}, got {type(value).__name__}"]
        return []
    if type_name == "datetime":
        try:
            datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            return [f"{path}: {value!r} is not an ISO-8601 time"]
        return []
    return sdk_problems(value, type_name, overrides=overrides, path=path)


# OpenEvent (the SDK's item type for inbound events) lists only eventType; Genesys documents
# the typing object of OpenMessageEvent for it (docs/api.md, "POST typing").
EVENT_OVERRIDES = {("OpenInboundNormalizedEvent", "events"): "list[OpenMessageEvent]"}
