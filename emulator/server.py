"""The HTTP server: routing, authentication, fault switches and the request log."""

from __future__ import annotations

import json
import logging
import threading
import time
import traceback
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from emulator import validation
from emulator.agent import Agent
from emulator.api import GenesysApi
from emulator.clock import now_iso
from emulator.config import Config
from emulator.control import Control
from emulator.errors import ApiError, error_body
from emulator.faults import fault_take
from emulator.files import Files
from emulator.http import Request, Response, Route, resolve
from emulator.inbound import OpenMessagingInbound
from emulator.state import State
from emulator.webhooks import WebhookSender

logger = logging.getLogger("emulator")
MAX_BODY = 5 * 1024 * 1024


class EmulatorServer(ThreadingHTTPServer):
    """http.server's threading server, with a listen backlog fit for bursts of clients.

    socketserver listens with a backlog of 5. A burst of new connections (20 threads in a
    test, a benchmark's warm-up) overflows it whenever the accepting thread waits for the
    GIL, and the kernel then drops their handshakes: connects stall for a second or more
    (tests/emulator/test_listen_backlog.py), and one CI run had a connection reset in the
    20-thread test. Genesys does not turn connections away like that, so neither does its
    emulator.
    """

    request_queue_size = 128
    daemon_threads = True


class Emulator:
    """One emulated Genesys Cloud organisation behind one HTTP listener."""

    def __init__(self, config: Config) -> None:
        self.config = config
        # Import the SDK now (a few seconds) rather than inside the first request's deadline.
        validation.model_fields("OpenInboundNormalizedMessage")
        self.state = State(config)
        self.state.load()
        self.sender = WebhookSender(self.state)
        self.agent = Agent(self.state, self.sender)
        self.api_routes = [
            *OpenMessagingInbound(self.state, self.agent).routes(),
            *GenesysApi(self.state, self.agent).routes(),
        ]
        self.control_routes = [
            *Control(self.state, self.agent, self.sender).routes(),
            *Files(self.state).routes(),
        ]
        self.httpd: EmulatorServer | None = None
        self.thread: threading.Thread | None = None

    # ----- lifecycle ---------------------------------------------------------------------

    @property
    def url(self) -> str:
        assert self.httpd is not None, "listen() or start() first"
        host, port = self.httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def listen(self) -> str:
        """Bind and listen (port 0 picks a free one), not serving yet; returns the URL."""
        if self.httpd is None:
            self.httpd = EmulatorServer((self.config.host, self.config.port), _handler(self))
            self.state.public_url = self.url
        return self.url

    def start(self) -> str:
        """Listen, if not yet, and serve on a background thread; returns the URL."""
        self.listen()
        assert self.httpd is not None
        self.thread = threading.Thread(
            target=self.httpd.serve_forever,
            kwargs={"poll_interval": 0.05},  # so stop() returns quickly
            name="emulator-http",
            daemon=True,
        )
        self.thread.start()
        return self.url

    def stop(self) -> None:
        if self.httpd is not None:
            if self.thread is not None:  # shutdown() waits for a serve loop that must exist
                self.httpd.shutdown()
            self.httpd.server_close()
        self.sender.stop()
        self.state.save()

    # ----- dispatch ----------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        control = request.path.startswith("/emulator/")
        routes: list[Route] = self.control_routes if control else self.api_routes
        response: Response
        fault_applied = None
        try:
            matched, params = resolve(routes, request.method, request.path)
            request.params = params
            if not control:
                delay, fault = fault_take(self.state, request.path)
                if delay:
                    time.sleep(delay)
                    fault_applied = f"slow {int(delay * 1000)} ms"
                if fault is not None:
                    fault_applied = f"{fault.status}"
                    raise fault
            if matched.authenticated:
                self.state.token_check(request.headers.get("authorization"))
            response = matched.handler(request)
        except ApiError as exc:
            response = Response(exc.status, exc.body(request.context_id), dict(exc.headers))
        except Exception:
            logger.exception("emulator bug handling %s %s", request.method, request.path)
            response = Response(
                500,
                error_body(500, traceback.format_exc(limit=3), context_id=request.context_id),
            )
        response.headers.setdefault("ININ-Correlation-Id", request.context_id)
        if not control:
            self._record(request, response, fault_applied)
            if request.method != "GET":
                self.state.save()
        return response

    def _record(self, request: Request, response: Response, fault: str | None) -> None:
        body: Any
        try:
            body = json.loads(request.body) if request.body else None
        except ValueError:
            body = request.body.decode(errors="replace")
        if request.path == "/oauth/token":
            body = request.body.decode(errors="replace")
        entry = {
            "seq": 0,
            "time": now_iso(),
            "method": request.method,
            "path": request.path,
            "query": request.query,
            "headers": _redacted(request.headers),
            "body": body,
            "model": request.model,
            "valid": None if request.model is None else not request.issues,
            "issues": [
                {"field": issue.field, "message": issue.message} for issue in request.issues or []
            ],
            "status": response.status,
            # The ErrorBody of a failed call, to see at a glance why it failed.
            "response": response.body if response.status >= 400 else None,
            "fault": fault,
            "context_id": request.context_id,
        }
        self.state.log_request(entry)


def _redacted(headers: dict[str, str]) -> dict[str, str]:
    """Headers with the Authorization credential replaced by its scheme only."""
    result = dict(headers)
    if "authorization" in result:
        scheme = result["authorization"].split(" ", 1)[0]
        result["authorization"] = f"{scheme} [redacted]"
    return result


def _handler(emulator: Emulator) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out in two writes; with Nagle on, a keep-alive client's
        # delayed ACK held the body back ~40 ms on every request (44 ms vs 1.8 ms measured).
        disable_nagle_algorithm = True
        server_version = "GenesysEmulator/1.0"

        def log_message(self, format: str, *args: Any) -> None:
            logger.debug("%s " + format, self.address_string(), *args)

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                self.send_error(413)
                return
            body = self.rfile.read(length) if length else b""
            parts = urlsplit(self.path)
            request = Request(
                method=self.command,
                path=parts.path.rstrip("/") or "/",
                query=parse_qs(parts.query, keep_blank_values=True),
                headers={name.lower(): value for name, value in self.headers.items()},
                body=body,
                context_id=str(uuid.uuid4()),
            )
            response = emulator.handle(request)
            payload = response.encoded()
            self.send_response(response.status)
            if payload:
                self.send_header("Content-Type", response.content_type)
            self.send_header("Content-Length", str(len(payload)))
            for name, value in response.headers.items():
                self.send_header(name, value)
            self.end_headers()
            if payload and self.command != "HEAD":
                self.wfile.write(payload)

        do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve

    return Handler
