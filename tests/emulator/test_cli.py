"""`python -m emulator`: serving, and driving a running emulator as the agent."""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from emulator.__main__ import main
from emulator.config import Config
from emulator.server import Emulator
from tests.emulator.conftest import EVENTS_SECRET, Genesys, Receiver, send_text, signature_ok

ROOT = Path(__file__).resolve().parents[2]


def _run(capsys: pytest.CaptureFixture[str], url: str, *args: str) -> tuple[int, dict]:
    code = main(["--emulator-url", url, *args])
    return code, json.loads(capsys.readouterr().out)


def test_agent_commands_drive_the_conversation(
    genesys: Genesys, receiver: Receiver, capsys: pytest.CaptureFixture[str]
) -> None:
    conversation_id = send_text(genesys, "hello").json()["conversationId"]

    code = main(
        ["agent", "reply", conversation_id, "hello from the CLI", "--emulator-url", genesys.url]
    )
    reply = json.loads(capsys.readouterr().out)
    assert code == 0
    assert reply["deliveries"][0]["outcome"] == "delivered"
    assert _run(capsys, genesys.url, "agent", "typing", "latest")[0] == 0
    code, transfer = _run(capsys, genesys.url, "agent", "transfer", "latest")
    assert code == 0
    user_id = transfer["agent"]["user_id"]
    assert (
        _run(
            capsys,
            genesys.url,
            "agent",
            "presence",
            user_id,
            "Away",
            "--routing-status",
            "OFF_QUEUE",
        )[0]
        == 0
    )
    assert _run(capsys, genesys.url, "agent", "disconnect", conversation_id)[0] == 0

    kinds = [
        r["json"].get("type") or r["json"]["topicName"].rsplit(".", 2)[-2:]
        for r in receiver.received
    ]
    assert kinds == [
        "Text",
        "Event",
        ["user", "end"],
        ["acd", "start"],
        ["user", "start"],
        [user_id, "presence"],
        [user_id, "routingStatus"],
        ["user", "end"],
        ["customer", "end"],
    ]
    assert receiver.received[0]["json"]["text"] == "hello from the CLI"
    assert all(signature_ok(EVENTS_SECRET, r) for r in receiver.at("/webhooks/genesys/events"))


def test_inspection_and_fault_commands(
    genesys: Genesys, capsys: pytest.CaptureFixture[str]
) -> None:
    code, fault = _run(
        capsys, genesys.url, "faults", "add", "429", "--count", "2", "--retry-after", "3"
    )
    assert code == 0
    assert fault["remaining"] == 2
    assert _run(capsys, genesys.url, "faults", "list")[1]["entities"][0]["kind"] == "429"
    assert _run(capsys, genesys.url, "requests")[1]["total"] >= 1
    assert _run(capsys, genesys.url, "deliveries")[1]["total"] == 0
    assert _run(capsys, genesys.url, "conversations")[1]["total"] == 0
    code, config = _run(capsys, genesys.url, "config", "events_secret=changed-secret-0123456789")
    assert config["events_secret"] == "changed-secret-0123456789"
    assert _run(capsys, genesys.url, "reset")[1] == {"status": "reset"}


def test_agent_command_on_unknown_conversation_fails(
    genesys: Genesys, capsys: pytest.CaptureFixture[str]
) -> None:
    code, body = _run(capsys, genesys.url, "agent", "reply", "no-such-conversation", "hi")

    assert code == 1
    assert body["status"] == 404


def test_serve_from_the_command_line_until_interrupted(receiver: Receiver) -> None:
    env = {**os.environ, "EMULATOR_CLIENT_SECRET": "from-the-environment-123"}
    process = subprocess.Popen(
        [sys.executable, "-m", "emulator", "--port", "0", "--gateway-url", receiver.url],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().split()[-1]
        token = requests.post(
            f"{url}/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=("emulator-client", "from-the-environment-123"),
            timeout=10,
        )
        assert token.status_code == 200
        integration = requests.get(
            f"{url}/api/v2/conversations/messaging/integrations/open/{Config().integration_id}",
            headers={"Authorization": f"Bearer {token.json()['access_token']}"},
            timeout=10,
        ).json()
        assert (
            integration["outboundNotificationWebhookUrl"]
            == f"{receiver.url}/webhooks/genesys/open-messaging"
        )
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0


def test_state_file_keeps_conversations_across_restarts(tmp_path: Path, receiver: Receiver) -> None:
    config = Config(port=0, gateway_url=receiver.url, state_file=str(tmp_path / "state.json"))
    first = Emulator(config)
    first.start()
    genesys = Genesys(first.url, config.client_id, config.client_secret)
    genesys.login()
    conversation_id = send_text(genesys, "remember me", message_id="wamid.keep").json()[
        "conversationId"
    ]
    first.stop()

    second = Emulator(Config(port=0, gateway_url=receiver.url, state_file=config.state_file))
    second.start()
    try:
        genesys = Genesys(second.url, config.client_id, config.client_secret)
        genesys.login()
        conversation = genesys.call("GET", f"/api/v2/conversations/{conversation_id}")
        again = send_text(genesys, "remember me", message_id="wamid.keep").json()
    finally:
        second.stop()

    assert conversation.status_code == 200
    assert again["conversationId"] == conversation_id


def test_users_and_conversations_show_who_is_where(
    genesys: Genesys, capsys: pytest.CaptureFixture[str]
) -> None:
    conversation_id = send_text(genesys, "hello").json()["conversationId"]

    _, conversations = _run(capsys, genesys.url, "conversations")
    _, on_queue = _run(capsys, genesys.url, "users", "--presence", "On Queue")

    [summary] = conversations["entities"]
    assert summary["id"] == conversation_id
    assert summary["agent_user_id"] in {u["id"] for u in on_queue["entities"]}
    assert {u["presence"] for u in on_queue["entities"]} == {"On Queue"}
    assert 0 < on_queue["total"] < 300
