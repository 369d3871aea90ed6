"""The emulator keeps a burst of new connections waiting instead of dropping them."""

import socket

from emulator.config import Config
from emulator.server import Emulator

BURST = 40


def _health(connection: socket.socket) -> bytes:
    connection.sendall(
        b"GET /emulator/health HTTP/1.1\r\nHost: emulator\r\nConnection: close\r\n\r\n"
    )
    answer = b""
    while chunk := connection.recv(65536):
        answer += chunk
    return answer


def test_a_burst_of_connections_made_before_the_emulator_accepts_is_answered_in_full() -> None:
    # Listening but not yet accepting: what a burst meets while the accepting thread waits
    # for the GIL. With socketserver's backlog of 5, the kernel drops the seventh SYN, and
    # its connect times out here.
    emulator = Emulator(Config(port=0))
    emulator.listen()
    assert emulator.httpd is not None
    address = emulator.httpd.server_address[:2]
    connections: list[socket.socket] = []
    try:
        for _ in range(BURST):
            connections.append(socket.create_connection(address, timeout=0.5))
        emulator.start()
        for connection in connections:
            connection.settimeout(10)
        answers = [_health(connection) for connection in connections]
    finally:
        for connection in connections:
            connection.close()
        emulator.stop()

    assert len(answers) == BURST
    assert all(answer.startswith(b"HTTP/1.1 200 ") for answer in answers), answers[:1]
