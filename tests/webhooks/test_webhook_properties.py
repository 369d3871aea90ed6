"""Property: whatever arrives, the webhooks never answer 5xx, and store a row only for a
validly signed body of a known shape.

Bodies come in four kinds: random bytes, random JSON, the example payloads with random
fields deleted or replaced (so that many are signed, well-formed and stored), and JSON
text Python would not write itself: nesting thousands of levels deep and numbers beyond
any float or integer limit, alone or in place of a field of an example. Each is sent
signed correctly, signed wrongly or unsigned.

`make test` runs a few hundred cases per endpoint; `make fuzz` runs FUZZ_EXAMPLES per
endpoint (tests/fuzz.py, docs/testing.md).
"""

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from django.test import Client
from hypothesis import event, given, settings
from hypothesis import strategies as st

from tenants.models import Conversation
from tests.conftest import WEBHOOK_SECRET, genesys_example
from tests.fuzz import fuzz_examples, fuzz_settings
from tests.webhooks.conftest import EVENTS_SECRET, post_events, post_open_messaging
from webhooks.models import OutboxMessage
from webhooks.payloads.cloudevents import cloud_event_build
from webhooks.payloads.notifications import notification_normalise, notification_unwrap
from webhooks.payloads.open_messaging import (
    open_messaging_integration_candidates,
    open_messaging_normalise,
)
from webhooks.payloads.parsing import json_parse
from webhooks.payloads.types import PayloadError

OPEN_MESSAGING_EXAMPLES = [
    "outbound-agent-text.json",
    "outbound-agent-image.json",
    "outbound-bot-text.json",
    "outbound-receipt.json",
    "outbound-structured-quick-replies.json",
    "outbound-typing-event.json",
]
NOTIFICATION_EXAMPLES = [
    "notification-acd-start.json",
    "notification-conversation-disconnect.json",
    "notification-presence-eventbridge.json",
    "notification-routing-status.json",
    "notification-user-end-transfer.json",
    "notification-user-start.json",
]

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()  # NaN and infinities too: json.dumps writes them, JSON forbids them
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)


@dataclass(frozen=True)
class Raw:
    """JSON text put into a body as it is: what json.dumps cannot or will not write."""

    text: str


# Depths around where Python's parser gives up (about 1,000 levels with Django's frames
# on the stack), and far beyond.
nesting_depths = st.integers(min_value=1, max_value=1200) | st.sampled_from(
    [900, 950, 980, 990, 1000, 1100, 5000, 100_000]
)
deep_nesting = st.builds(
    lambda depth, kind, leaf: (
        "[" * depth + leaf + "]" * depth
        if kind == "list"
        else '{"a":' * depth + (leaf or "null") + "}" * depth
    ),
    nesting_depths,
    st.sampled_from(["list", "object"]),
    st.sampled_from(["", "1", '"x"', "null", "1e999"]),
)
huge_numbers = st.one_of(
    # Beyond Python's 4,300-digit limit for int(), and just within it.
    st.integers(min_value=18, max_value=6000).map(lambda n: "9" * n),
    st.integers(min_value=18, max_value=6000).map(lambda n: "-1" + "0" * n),
    # Exponents beyond a double: 1e400 parses as infinity, 1e-400 as zero.
    st.integers(min_value=-100_000, max_value=100_000).map(lambda e: f"1e{e}"),
    st.integers(min_value=300, max_value=400).map(lambda e: f"-1.7976931348623157E{e}"),
    st.integers(min_value=1, max_value=500).map(lambda n: "0." + "0" * n + "1"),
    st.sampled_from(["-0", "-0.0", "9007199254740993", "18446744073709551616", "1E+2"]),
)
raw_values = st.one_of(deep_nesting, huge_numbers).map(Raw)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found: list[tuple[Any, ...]] = []
    items = (
        value.items()
        if isinstance(value, dict)
        else enumerate(value)
        if isinstance(value, list)
        else []
    )
    for key, child in items:
        found.append((*prefix, key))
        found.extend(_paths(child, (*prefix, key)))
    return found


ISO_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}")


def _dated_now(value: Any) -> Any:
    """The example with every ISO-8601 time set to now: old events are refused as replays,
    and the stored path deserves as much search as the rejections."""
    if isinstance(value, dict):
        return {key: _dated_now(child) for key, child in value.items()}
    if isinstance(value, list):
        return [_dated_now(child) for child in value]
    if isinstance(value, str) and ISO_TIME.match(value):
        return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return value


@st.composite
def mutated_examples(draw: st.DrawFn, names: list[str]) -> Any:
    """An example payload, dated now, with up to three fields deleted or replaced by random
    JSON or raw JSON text."""
    payload = _dated_now(genesys_example(draw(st.sampled_from(names))))
    if "id" in payload and draw(st.booleans()):
        payload["id"] = str(draw(st.uuids()))  # a new event, not a duplicate of the last
    for _ in range(draw(st.integers(min_value=0, max_value=3))):
        paths = _paths(payload)
        if not paths:
            break
        # Top-level fields a third of the time: they are few, and each matters. An index,
        # not sampled_from, which would mostly pick the first (`channel`).
        top_level = [path for path in paths if len(path) == 1]
        candidates = top_level if draw(st.integers(0, 2)) == 0 else paths
        *parents, key = candidates[draw(st.integers(0, len(candidates) - 1))]
        container = payload
        for parent in parents:
            container = container[parent]
        if isinstance(container, dict) and draw(st.booleans()):
            del container[key]
        else:
            container[key] = draw(st.one_of(json_values, json_values, raw_values))
    return payload


def _body(payload: Any) -> bytes:
    """Compact JSON, with each Raw value's text put in verbatim."""
    raws: list[str] = []

    def placeholder(value: Any) -> str:
        if not isinstance(value, Raw):
            raise TypeError(f"not JSON: {value!r}")
        raws.append(value.text)
        return f"\x01raw{len(raws) - 1}\x01"

    text = json.dumps(payload, separators=(",", ":"), default=placeholder)
    for index, raw in enumerate(raws):
        text = text.replace(f'"\\u0001raw{index}\\u0001"', raw, 1)
    return text.encode()


def bodies(examples: list[str]) -> st.SearchStrategy[bytes]:
    # Mutated examples half the time: most of them pass the parser, so they reach the
    # signature check, the normaliser and the database.
    # (one_of would flatten the two into four equally likely branches.)
    mutated = mutated_examples(examples).map(_body)
    others = st.one_of(st.binary(max_size=512), json_values.map(_body), raw_values.map(_body))
    return st.booleans().flatmap(lambda pick_mutated: mutated if pick_mutated else others)


# Valid twice as often: the stored path deserves as much search as the rejections.
signing = st.sampled_from(["valid", "valid", "wrong", "none"])
# Per endpoint: 200 in make test, FUZZ_EXAMPLES (5,000) in make fuzz.
property_settings = fuzz_settings(200)
# The normalisers alone are cheap: never fewer cases than the endpoints get.
normaliser_settings = settings(property_settings, max_examples=max(500, fuzz_examples(500)))


def _state() -> tuple[int, list[tuple[Any, ...]]]:
    return OutboxMessage.objects.count(), list(
        Conversation.objects.order_by("pk").values_list(
            "conversation_id", "state", "last_event_type", "last_event_at"
        )
    )


def check(response: Any, *, signed: str, before: tuple[int, list[tuple[Any, ...]]]) -> None:
    assert response.status_code < 500, response.content
    after = _state()
    outcome = response.json().get("type", "").rsplit("/", 1)[-1] or response.json().get("result")
    # Counts per outcome: pytest --hypothesis-show-statistics.
    event(f"{response.status_code} {outcome} stored={after[0] - before[0]} signature={signed}")
    if response.status_code != 200:
        assert after == before, "a rejected webhook changed the database"
    if after[0] > before[0]:
        assert signed == "valid", "a row was stored for a body without a valid signature"
        assert response.json()["result"] in ("accepted", "ignored")


@pytest.mark.django_db
@property_settings
@given(body=bodies(OPEN_MESSAGING_EXAMPLES), signed=signing)
def test_open_messaging_never_fails_and_stores_only_signed_known_shapes(
    webhook_client: Client, conversation: Conversation, body: bytes, signed: str
) -> None:
    before = _state()
    secret = {"valid": WEBHOOK_SECRET, "wrong": "not-the-secret-0000000", "none": None}[signed]
    response = post_open_messaging(webhook_client, body, secret=secret)
    check(response, signed=signed, before=before)


@pytest.mark.django_db
@property_settings
@given(body=bodies(NOTIFICATION_EXAMPLES), signed=signing, bearer=st.booleans())
def test_events_never_fail_and_store_only_authenticated_known_shapes(
    webhook_client: Client, conversation: Conversation, body: bytes, signed: str, bearer: bool
) -> None:
    before = _state()
    secret = {"valid": EVENTS_SECRET, "wrong": "not-the-secret-0000000", "none": None}[signed]
    response = post_events(webhook_client, body, secret=secret, bearer=bearer)
    check(response, signed=signed, before=before)


# The normaliser alone, without HTTP or database: many more examples per second, so the
# odd field types the end-to-end tests above rarely reach are covered here.
@normaliser_settings
@given(payload=mutated_examples(OPEN_MESSAGING_EXAMPLES) | json_values | raw_values)
def test_open_messaging_normaliser_raises_only_payload_errors(payload: Any) -> None:
    try:
        payload = json_parse(_body(payload))  # what the view hands on
        candidates = open_messaging_integration_candidates(payload)
        found = open_messaging_normalise(
            payload=payload, integration_id=candidates[0], conversation_id=None
        )
    except PayloadError:
        return
    for found_event in found:
        document = cloud_event_build(event=found_event, tenant_slug="acme")
        json.dumps(document, allow_nan=False)


@normaliser_settings
@given(payload=mutated_examples(NOTIFICATION_EXAMPLES) | json_values | raw_values)
def test_notification_normaliser_raises_only_payload_errors(payload: Any) -> None:
    try:
        payload = json_parse(_body(payload))  # what the view hands on
        notification = notification_unwrap(payload)
        found = notification_normalise(notification)
    except PayloadError:
        return
    for found_event in found:
        document = cloud_event_build(event=found_event, tenant_slug="acme")
        json.dumps(document, allow_nan=False)
