"""Hypothesis strategies for Genesys message content, built from the official SDK's models.

Every model declares `swagger_types` (python attribute -> type) and `attribute_map`
(python attribute -> JSON name); enum values sit in the setters. A content item is
`{"contentType": <value>, <the field of that value>: <a generated model>}`, for every
value the SDK's `ConversationMessageContent` allows, so a kind added to the SDK is
generated without touching this file.
"""

from typing import Any

import PureCloudPlatformClientV2.models as sdk
from hypothesis import strategies as st

from emulator.validation import allowed_values

CONTENT_MODEL = "ConversationMessageContent"
# Deeper models are generated empty: Genesys' content nests a few levels at most.
MAX_DEPTH = 3
# The one content type whose field is not named after it.
_FIELD_OVERRIDES = {"Notification": "template"}

_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
    max_size=16,
)
_SIMPLE: dict[str, st.SearchStrategy[Any]] = {
    "str": _text,
    "int": st.integers(min_value=-(2**31), max_value=2**31),
    # Bounded: jsonb writes huge floats as integers, which read back as another number.
    "float": st.floats(min_value=-1e9, max_value=1e9),
    "bool": st.booleans(),
    "datetime": st.datetimes(timezones=st.none()).map(lambda d: d.isoformat() + "Z"),
    "date": st.dates().map(str),
    "object": st.dictionaries(_text, _text, max_size=2),
}


def content_types() -> list[str]:
    """Every `contentType` value the installed SDK allows."""
    values = list(allowed_values(CONTENT_MODEL, "content_type") or ())
    assert values, "the SDK lists no contentType values"
    return values


def content_field(content_type: str) -> str | None:
    """The JSON field holding an item's body (`quickReplyV2` for `QuickReplyV2`), if any."""
    json_names = set(getattr(sdk, CONTENT_MODEL)().attribute_map.values())
    name = _FIELD_OVERRIDES.get(content_type, content_type[:1].lower() + content_type[1:])
    return name if name in json_names else None


def value_strategy(type_name: str, depth: int = 0) -> st.SearchStrategy[Any]:
    if type_name.startswith("list["):
        return st.lists(value_strategy(type_name[5:-1], depth + 1), max_size=2)
    if type_name.startswith("dict("):
        inner = type_name[5:-1].split(", ", 1)[1]
        return st.dictionaries(_text, value_strategy(inner, depth + 1), max_size=2)
    if type_name in _SIMPLE:
        return _SIMPLE[type_name]
    return model_strategy(type_name, depth)


def model_strategy(model_name: str, depth: int = 0) -> st.SearchStrategy[dict[str, Any]]:
    """A JSON object of the SDK model: any subset of its fields, enums from their values."""
    if depth > MAX_DEPTH:
        return st.just({})
    model = getattr(sdk, model_name)
    instance = model()
    fields: dict[str, st.SearchStrategy[Any]] = {}
    for attribute, type_name in instance.swagger_types.items():
        allowed = allowed_values(model_name, attribute) if type_name == "str" else None
        strategy = st.sampled_from(allowed) if allowed else value_strategy(type_name, depth + 1)
        fields[instance.attribute_map[attribute]] = strategy
    return st.fixed_dictionaries({}, optional=fields)


def content_item(content_type: str) -> st.SearchStrategy[dict[str, Any]]:
    """One content item of the given type, its body generated from the SDK model."""
    field = content_field(content_type)
    if field is None:
        return st.just({"contentType": content_type})
    instance = getattr(sdk, CONTENT_MODEL)()
    attribute = next(a for a, name in instance.attribute_map.items() if name == field)
    body = value_strategy(instance.swagger_types[attribute])
    return body.map(lambda value: {"contentType": content_type, field: value})
