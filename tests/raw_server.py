"""A server on 127.0.0.1 that answers every connection with fixed bytes, optionally over TLS.

For failures the scripted server cannot make: replies that are not HTTP, TLS, a connection
closed right after a keep-alive answer.
"""

from __future__ import annotations

import socket
import ssl
import threading
from typing import Optional

OK_BODY = b'{"choices":[{"index":0,"message":{"role":"assistant","content":"ok"}}]}'
OK_BYTES = b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n%s" % (len(OK_BODY), OK_BODY)


class RawServer:
    """Answers each connection on 127.0.0.1 with fixed bytes, optionally over TLS, then closes."""

    def __init__(
        self, answer: bytes, tls: Optional[ssl.SSLContext] = None, *, at_once: bool = False
    ) -> None:
        self.answer = answer
        self.tls = tls
        self.at_once = at_once  # answer on connect, before any request arrives
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.stopped = threading.Event()
        # Counted on accept: a client can read the answer before the server's close returns.
        self.accepted = 0  # connections accepted so far
        self.closed_one = threading.Event()  # set once a connection is closed
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> RawServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopped.set()
        self.thread.join(timeout=5)
        self.sock.close()

    @property
    def port(self) -> int:
        return int(self.sock.getsockname()[1])

    def _serve(self) -> None:
        while not self.stopped.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.accepted += 1
            try:
                self._answer(conn)
            except (OSError, ssl.SSLError):
                pass  # a client refusing our certificate is the point of some tests
            finally:
                conn.close()
                self.closed_one.set()

    def _answer(self, conn: socket.socket) -> None:
        conn.settimeout(2)
        stream = self.tls.wrap_socket(conn, server_side=True) if self.tls else conn
        with stream:  # the TLS socket takes the connection over: closing conn is not enough
            if not self.at_once:
                self._read_request(stream)
            stream.sendall(self.answer)

    @staticmethod
    def _read_request(stream: socket.socket) -> None:
        # Read it whole: closing with unread bytes resets the connection, losing our answer.
        data = b""
        while b"\r\n\r\n" not in data:
            more = stream.recv(65536)
            if not more:
                return
            data += more
        head, _, body = data.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        while len(body) < length:
            more = stream.recv(65536)
            if not more:
                return
            body += more
