"""Clients that open connections and never finish a request: the slowloris shape a server
must outlast. Shared by the slow-client test and benchmark."""

from __future__ import annotations

import socket


def hold_connections(port: int, count: int) -> list[socket.socket]:
    """Half send a request line and stop; half start a body they will never finish."""
    held = []
    for n in range(count):
        sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        if n % 2:
            sock.sendall(b"POST /slack/events HTTP/1.1\r\nHost: x\r\n"
                         b"Content-Length: 1000\r\n\r\n{")
        else:
            sock.sendall(b"POST /slack/events HTTP/1.1\r\n")
        held.append(sock)
    return held
