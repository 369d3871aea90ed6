"""Reading the inside of Genesys answers: an object or a list of objects where one is due.

The client guarantees the top level is a JSON object; the services reach further in. A
field of the wrong shape is Genesys' fault, so it is a GenesysBadAnswerError (502), not
an AttributeError (500). A missing or null field reads as empty.
"""

from typing import Any

from outbound.genesys.exceptions import GenesysBadAnswerError


def answer_object(value: Any, *, field: str) -> dict[str, Any]:
    """`value` as an object; None as an empty one."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise GenesysBadAnswerError(f"Genesys answered a non-object {field}")
    return value


def answer_objects(value: Any, *, field: str) -> list[dict[str, Any]]:
    """`value` as a list of objects; None as an empty list."""
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise GenesysBadAnswerError(f"Genesys answered a {field} that is not a list of objects")
    return value
