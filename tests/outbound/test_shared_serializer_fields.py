"""Serializers whose fields are built once per class: instances and threads never see
each other's data or errors."""

import threading
from typing import Any

from outbound.serializers import CustomerIdSerializer, CustomerSerializer
from outbound.views.messages import MessageCreateApi

Input = MessageCreateApi.InputSerializer


def body(n: int) -> dict[str, Any]:
    return {
        "message_id": f"wamid.{n}",
        "from": {"id": f"+1555{n:07d}", "nickname": f"N{n}"},
        "text": f"text {n}",
        "metadata": {"n": str(n)},
    }


def test_instances_share_one_set_of_fields_per_class() -> None:
    first, second = Input(data=body(1)), Input(data=body(2))
    assert first.fields is second.fields
    assert CustomerSerializer().fields is not CustomerIdSerializer().fields
    assert set(CustomerIdSerializer().fields) == {"id", "id_type"}
    assert "from" in first.fields and "sender" not in first.fields  # the JSON name


def test_a_valid_body_after_an_invalid_one_is_valid_and_vice_versa() -> None:
    bad = Input(data={"message_id": "x" * 300, "from": {"id": ""}, "reply": {}, "text": 1})
    assert not bad.is_valid()
    good = Input(data=body(3))
    assert good.is_valid(), good.errors
    assert good.validated_data["from"] == {
        "id": "+15550000003",
        "nickname": "N3",
        "id_type": "Phone",
    }
    again = Input(data={"message_id": "wamid.4", "from": {"id": "+1"}, "colour": "red"})
    assert not again.is_valid()
    assert again.errors == {"colour": ["Unknown field."]}
    assert bad.errors["message_id"] == ["Ensure this field has no more than 255 characters."]
    assert bad.errors["from"] == {"id": ["This field may not be blank."]}


def test_threads_validating_at_once_each_get_their_own_result() -> None:
    results: dict[int, Any] = {}
    barrier = threading.Barrier(8)

    def work(thread: int) -> None:
        barrier.wait()
        for i in range(60):
            n = thread * 1000 + i
            data = body(n) if i % 3 else {**body(n), "from": {"id": ""}}
            serializer = Input(data=data)
            valid = serializer.is_valid()
            results[n] = (valid, dict(serializer.validated_data) if valid else serializer.errors)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 8 * 60
    for n, (valid, outcome) in results.items():
        if n % 1000 % 3:
            assert valid, outcome
            assert outcome["message_id"] == f"wamid.{n}"
            assert outcome["from"]["id"] == f"+1555{n:07d}"
            assert outcome["metadata"] == {"n": str(n)}
        else:
            assert not valid
            assert outcome == {"from": {"id": ["This field may not be blank."]}}
