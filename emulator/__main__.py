"""Command line: run the emulator, or drive a running one as the agent.

    python -m emulator --port 8100 --gateway-url http://127.0.0.1:8000
    python -m emulator agent reply <conversation-id|latest> "hello"
    python -m emulator agent template latest --template-id order_update --language en \\
        --param name=Maria
    python -m emulator faults add 429 --count 3
See emulator/README.md.
"""

from __future__ import annotations

import argparse
import json
import logging
import mimetypes
import os
import signal
import sys
import threading
from collections.abc import Callable
from dataclasses import fields
from typing import Any
from urllib.parse import urlencode

import requests

from emulator.config import Config
from emulator.faults import KINDS

DEFAULT_URL = "http://127.0.0.1:8100"
CLIENT_COMMANDS = (
    "agent",
    "faults",
    "reset",
    "requests",
    "deliveries",
    "conversations",
    "conversation",
    "files",
    "users",
    "config",
)


def serve_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m emulator",
        description="Local Genesys Cloud emulator. Every option also reads EMULATOR_<NAME>.",
    )
    defaults = Config.from_env()
    for item in fields(Config):
        flag = "--" + item.name.replace("_", "-")
        value = getattr(defaults, item.name)
        if isinstance(value, bool):
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=value)
        else:
            parser.add_argument(flag, type=type(value), default=value, metavar=item.name.upper())
    parser.add_argument("--verbose", action="store_true", help="log every HTTP request")
    return parser


def serve(argv: list[str]) -> int:
    args = serve_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s emulator %(levelname)s %(message)s",
    )
    config = Config(**{item.name: getattr(args, item.name) for item in fields(Config)})
    if config.events_auth not in ("signature", "bearer", "both"):
        print("--events-auth must be signature, bearer or both", file=sys.stderr)
        return 2
    from emulator.server import Emulator  # imports the SDK (seconds); not for client commands

    emulator = Emulator(config)
    url = emulator.start()
    print(
        f"Genesys emulator on {url}\n"
        f"  OAuth client  {config.client_id} (secret: --client-secret)\n"
        f"  integration   {config.integration_id} -> {config.resolved_webhook_url()}\n"
        f"  events        {emulator.state.events_url}\n"
        f"  org           {config.org_id} ({config.user_count} agents, seed {config.seed})",
        flush=True,
    )
    stopped = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopped.set())
    stopped.wait()
    emulator.stop()
    return 0


def client_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m emulator", description="Drive a running emulator."
    )
    parser.add_argument(
        "--emulator-url", default=os.environ.get("EMULATOR_URL", DEFAULT_URL), help=DEFAULT_URL
    )
    commands = parser.add_subparsers(dest="command", required=True)
    # --emulator-url is also accepted after a command ("agent reply ID hi --emulator-url U").
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--emulator-url", default=argparse.SUPPRESS, help=argparse.SUPPRESS)

    agent = commands.add_parser("agent", help="act as the agent").add_subparsers(
        dest="action", required=True
    )
    reply = agent.add_parser("reply", help="agent sends a message", parents=[common])
    reply.add_argument("conversation", help="conversation id, or 'latest'")
    reply.add_argument("text", nargs="?", default="")
    reply.add_argument("--image-url", help="attach an image (or any file) by URL")
    reply.add_argument(
        "--image",
        metavar="FILE",
        help="attach a local file (uploaded to the emulator, which serves it) or the name of"
        " a file the emulator serves, e.g. its sample photo.png",
    )
    reply.add_argument("--quick-reply", action="append", dest="quick_replies", help="repeatable")
    reply.add_argument("--bot", action="store_true", help="originatingEntity Bot")
    template = agent.add_parser(
        "template", help="agent sends a WhatsApp template (Notification)", parents=[common]
    )
    template.add_argument("conversation", help="conversation id, or 'latest'")
    template.add_argument("--template-id", required=True, help="the template's name or id")
    template.add_argument("--language", required=True, help="e.g. en, en_US")
    template.add_argument("--body-text", help="the body with placeholders, e.g. 'Hi {{1}}'")
    template.add_argument("--param", action="append", metavar="NAME=VALUE", help="body parameter")
    template.add_argument("--header-text")
    template.add_argument("--header-param", action="append", metavar="NAME=VALUE")
    template.add_argument("--footer-text")
    list_picker = agent.add_parser(
        "list-picker", help="agent sends a list to choose from", parents=[common]
    )
    list_picker.add_argument("conversation", help="conversation id, or 'latest'")
    list_picker.add_argument("--title", required=True)
    list_picker.add_argument(
        "--item", action="append", required=True, metavar="[ID=]TITLE", help="repeatable"
    )
    list_picker.add_argument("--subtitle")
    list_picker.add_argument("--button-label", help="the button that opens the list")
    list_picker.add_argument("--section", help="section title (default: the title)")
    date_picker = agent.add_parser(
        "date-picker", help="agent offers times to book", parents=[common]
    )
    date_picker.add_argument("conversation", help="conversation id, or 'latest'")
    date_picker.add_argument("--title", required=True)
    date_picker.add_argument(
        "--slot", action="append", required=True, metavar="DATETIME", help="ISO-8601, repeatable"
    )
    date_picker.add_argument("--duration-s", type=int, default=1800, help="length of each slot")
    date_picker.add_argument("--subtitle")
    location = agent.add_parser("location", help="agent sends a location", parents=[common])
    location.add_argument("conversation", help="conversation id, or 'latest'")
    location.add_argument("--lat", type=float, required=True)
    location.add_argument("--lon", type=float, required=True)
    location.add_argument("--address")
    location.add_argument("--label", help="the place's name")
    location.add_argument("--url")
    for sub in (template, list_picker, date_picker, location):
        sub.add_argument("--text", default="", help="text sent with it")
        sub.add_argument("--bot", action="store_true", help="originatingEntity Bot")
    typing = agent.add_parser("typing", help="agent is typing", parents=[common])
    typing.add_argument("conversation")
    typing.add_argument("--duration-ms", type=int, default=5000)
    disconnect = agent.add_parser(
        "disconnect", help="agent ends the conversation", parents=[common]
    )
    disconnect.add_argument("conversation")
    transfer = agent.add_parser("transfer", help="transfer to another agent", parents=[common])
    transfer.add_argument("conversation")
    transfer.add_argument("--to-user", help="user id (default: next available agent)")
    presence = agent.add_parser(
        "presence", help="change an agent's presence/routing status", parents=[common]
    )
    presence.add_argument("user", help="user id")
    presence.add_argument("presence", nargs="?", help="e.g. Available, Away, 'On Queue'")
    presence.add_argument("--routing-status", help="OFF_QUEUE, IDLE, INTERACTING, ...")
    presence.add_argument("--eventbridge", action="store_true", help="wrap in an EventBridge event")
    for sub in (reply, template, list_picker, date_picker, location):
        sub.add_argument("--no-wait", action="store_true", help="do not wait for the webhook")
    for sub in (typing, disconnect, transfer, presence):
        sub.add_argument("--no-wait", action="store_true", help="do not wait for the webhook")

    faults = commands.add_parser("faults", help="fault switches").add_subparsers(
        dest="action", required=True
    )
    add = faults.add_parser("add", help="make the next calls fail", parents=[common])
    add.add_argument("kind", choices=KINDS)
    add.add_argument("--count", type=int, default=1)
    add.add_argument("--path-prefix", default="")
    add.add_argument("--retry-after", type=int, default=1)
    add.add_argument("--delay-ms", type=int, default=2000)
    faults.add_parser("list", parents=[common])

    commands.add_parser(
        "reset", help="forget conversations, tokens, logs and faults", parents=[common]
    )
    requests_cmd = commands.add_parser(
        "requests", help="requests the emulator received", parents=[common]
    )
    requests_cmd.add_argument("--path-prefix", default="")
    deliveries = commands.add_parser(
        "deliveries", help="webhooks the emulator sent", parents=[common]
    )
    deliveries.add_argument("--kind", choices=("open-messaging", "events"))
    commands.add_parser("conversations", help="conversations, newest last", parents=[common])
    one = commands.add_parser(
        "conversation", help="one conversation's messages and files", parents=[common]
    )
    one.add_argument("conversation", help="conversation id, or 'latest'")
    commands.add_parser("files", help="files the emulator serves or fetched", parents=[common])
    users = commands.add_parser("users", help="agents and their presence", parents=[common])
    users.add_argument("--presence", help="only agents with this presence, e.g. 'On Queue'")
    config = commands.add_parser("config", help="show or change settings", parents=[common])
    config.add_argument("set", nargs="*", metavar="KEY=VALUE", help="e.g. events_secret=...")
    return parser


def _pairs(items: list[str] | None) -> dict[str, str] | None:
    """['name=Maria', ...] -> {'name': 'Maria', ...}."""
    if not items:
        return None
    pairs = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise SystemExit(f"expected NAME=VALUE, got {item!r}")
        pairs[name] = value
    return pairs


def _content_common(args: argparse.Namespace) -> dict[str, Any]:
    return {"text": args.text, "bot": args.bot}


# The control API body of each agent content command.
CONTENT_BODIES: dict[str, Callable[[argparse.Namespace], dict[str, Any]]] = {
    "template": lambda args: (
        _content_common(args)
        | {
            "template_id": args.template_id,
            "language": args.language,
            "body_text": args.body_text,
            "parameters": _pairs(args.param),
            "header_text": args.header_text,
            "header_parameters": _pairs(args.header_param),
            "footer_text": args.footer_text,
        }
    ),
    "list-picker": lambda args: (
        _content_common(args)
        | {
            "title": args.title,
            "items": args.item,
            "subtitle": args.subtitle,
            "button_label": args.button_label,
            "section": args.section,
        }
    ),
    "date-picker": lambda args: (
        _content_common(args)
        | {
            "title": args.title,
            "slots": args.slot,
            "duration_s": args.duration_s,
            "subtitle": args.subtitle,
        }
    ),
    "location": lambda args: (
        _content_common(args)
        | {
            "latitude": args.lat,
            "longitude": args.lon,
            "address": args.address,
            "label": args.label,
            "url": args.url,
        }
    ),
}


def _request(method: str, url: str, body: dict[str, Any] | None = None) -> int:
    try:
        response = requests.request(method, url, json=body, timeout=330)
    except requests.RequestException as exc:
        print(f"emulator not reachable at {url}: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(response.json() if response.content else {}, indent=2))
    return 0 if response.ok else 1


def _upload(base: str, path: str) -> str | None:
    """Upload a local file to the emulator's file store; its name there, or None."""
    name = os.path.basename(path)
    mime = mimetypes.guess_type(name)[0] or "application/octet-stream"
    try:
        with open(path, "rb") as handle:
            response = requests.post(
                f"{base}/files",
                data=handle.read(),
                headers={"Content-Type": mime, "X-Filename": name},
                timeout=60,
            )
    except requests.RequestException as exc:
        print(f"emulator not reachable at {base}: {exc}", file=sys.stderr)
        return None
    if not response.ok:
        print(response.text, file=sys.stderr)
        return None
    return str(response.json()["name"])


def client(argv: list[str]) -> int:
    args = client_parser().parse_args(argv)
    base = args.emulator_url.rstrip("/") + "/emulator"
    if args.command == "agent":
        wait = not args.no_wait
        if args.action == "presence":
            body = {
                "presence": args.presence,
                "routing_status": args.routing_status,
                "envelope": "eventbridge" if args.eventbridge else "bare",
                "wait": wait,
            }
            return _request("POST", f"{base}/users/{args.user}/presence", body)
        target = f"{base}/conversations/{args.conversation}/{args.action}"
        body = {"wait": wait}
        if args.action == "reply":
            image = args.image
            if image and os.path.isfile(image):
                image = _upload(base, image)
                if image is None:
                    return 2
            body |= {
                "text": args.text,
                "image": image,
                "image_url": args.image_url,
                "quick_replies": args.quick_replies,
                "bot": args.bot,
            }
        elif args.action in CONTENT_BODIES:
            body |= CONTENT_BODIES[args.action](args)
        elif args.action == "typing":
            body["duration_ms"] = args.duration_ms
        elif args.action == "transfer":
            body["to_user_id"] = args.to_user
        return _request("POST", target, body)
    if args.command == "faults":
        if args.action == "list":
            return _request("GET", f"{base}/faults")
        spec = {
            "kind": args.kind,
            "count": args.count,
            "path_prefix": args.path_prefix,
            "retry_after": args.retry_after,
            "delay_ms": args.delay_ms,
        }
        return _request("POST", f"{base}/faults", spec)
    if args.command == "reset":
        return _request("POST", f"{base}/reset")
    if args.command == "requests":
        return _request("GET", f"{base}/requests?path_prefix={args.path_prefix}")
    if args.command == "deliveries":
        return _request("GET", f"{base}/deliveries" + (f"?kind={args.kind}" if args.kind else ""))
    if args.command == "conversations":
        return _request("GET", f"{base}/conversations")
    if args.command == "conversation":
        return _request("GET", f"{base}/conversations/{args.conversation}")
    if args.command == "files":
        return _request("GET", f"{base}/files")
    if args.command == "users":
        query = f"?{urlencode({'presence': args.presence})}" if args.presence else ""
        return _request("GET", f"{base}/users{query}")
    if args.set:
        updates = dict(item.split("=", 1) for item in args.set)
        return _request("POST", f"{base}/config", updates)
    return _request("GET", f"{base}/config")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if any(arg in CLIENT_COMMANDS for arg in argv):
        return client(argv)
    return serve(argv)


if __name__ == "__main__":
    sys.exit(main())
