"""A fault-injecting HTTP server on loopback, for tests of retries, timeouts and expired tokens.

It sits either in front of an upstream HTTP server (``rustac serve``: requests are forwarded and the
upstream's own address is rewritten to the proxy's in bodies and headers, so paging links come back
through the proxy) or in front of a folder of files (GET/HEAD with single ``Range: bytes=a-b`` support, so
GDAL's ``/vsicurl/`` can read COGs). Scripted :class:`Rule` s turn chosen requests into faults.

Bounded by construction: the server answers at most ``max_requests`` requests, stops itself after
``lifetime_s`` seconds, and a hang sleeps at most its ``hang_s`` (never past the lifetime). Everything
binds to 127.0.0.1 only.
"""

from __future__ import annotations

import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

FaultKind = Literal["status", "hang", "truncate"]


@dataclass(frozen=True)
class Fault:
    """What to do instead of a normal answer.

    ``status``: answer ``status`` with ``body`` (and ``Retry-After`` when given); ``hang``: sleep ``hang_s``
    then close the connection without an answer; ``truncate``: send the real answer's headers (full
    Content-Length) but only half its body, then close.
    """

    kind: FaultKind
    status: int = 503
    retry_after: float | None = None
    hang_s: float = 5.0
    body: bytes = b""


def status(code: int, body: bytes = b"", retry_after: float | None = None) -> Fault:
    return Fault("status", status=code, body=body or f"injected {code}".encode(), retry_after=retry_after)


def hang(seconds: float) -> Fault:
    return Fault("hang", hang_s=seconds)


TRUNCATE = Fault("truncate")
EXPIRED_TOKEN = status(
    403,
    b'<?xml version="1.0"?><Error><Code>AuthenticationFailed</Code>'
    b"<Message>Signed expiry time has to be after signed start time</Message></Error>",
)


@dataclass
class Rule:
    """Apply ``fault`` to the ``times``-th requests (1-based, counted per rule) that match.

    A request matches when its path contains ``path``, its query contains ``query`` and its method is
    ``method`` (each None matches all). ``times=None`` applies the fault to every matching request.
    """

    fault: Fault
    path: str | None = None
    query: str | None = None
    method: str | None = None
    times: frozenset[int] | None = None
    seen: int = field(default=0, init=False)

    def matches(self, method: str, path: str, query: str) -> bool:
        return (
            (self.path is None or self.path in path)
            and (self.query is None or self.query in query)
            and (self.method is None or self.method == method)
        )


def rule(fault: Fault, *, path=None, query=None, method=None, times=None) -> Rule:
    return Rule(fault, path, query, method, None if times is None else frozenset(times))


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    query: str
    status: int | str  # an HTTP status, or "hang" / "truncate"


#: Ports this process's servers had. GDAL's /vsicurl/ keeps what it read of a URL for the whole process,
#: so a server on a port an earlier one had would have its files served from that cache, unseen.
_PORTS_USED: set[int] = set()


def _fresh_port_server(handler: type[BaseHTTPRequestHandler]) -> ThreadingHTTPServer:
    """A server on a loopback port no earlier server of this process had."""
    while True:
        httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        port = int(httpd.server_address[1])
        if port not in _PORTS_USED:
            _PORTS_USED.add(port)
            return httpd
        httpd.server_close()


class FaultServer:
    """The running server: ``url``, the ``requests`` it saw, and its ``rules``."""

    def __init__(
        self,
        *,
        upstream: str | None = None,
        root: Path | None = None,
        rules: list[Rule] | None = None,
        max_requests: int = 2000,
        lifetime_s: float = 60.0,
        upstream_timeout_s: float = 10.0,
    ) -> None:
        if (upstream is None) == (root is None):
            raise ValueError("give exactly one of upstream= or root=")
        self.upstream = upstream.rstrip("/") if upstream else None
        self.root = Path(root) if root else None
        self.rules = list(rules or [])
        self.max_requests = max_requests
        self.upstream_timeout_s = upstream_timeout_s
        self.requests: list[Seen] = []
        self._lock = threading.Lock()
        self._deadline = time.monotonic() + lifetime_s
        self._httpd = _fresh_port_server(_handler_for(self))
        self._httpd.daemon_threads = True
        self._httpd.block_on_close = False
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05})
        self._timer = threading.Timer(lifetime_s, self.stop)
        self._timer.daemon = True
        self._stopped = False

    def start(self) -> FaultServer:
        self._thread.daemon = True
        self._thread.start()
        self._timer.start()
        return self

    def stop(self) -> None:
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
        self._timer.cancel()
        self._httpd.shutdown()
        self._httpd.server_close()

    def remaining_s(self) -> float:
        return max(0.0, self._deadline - time.monotonic())

    def fault_for(self, method: str, path: str, query: str) -> Fault | None:
        with self._lock:
            for r in self.rules:
                if r.matches(method, path, query):
                    r.seen += 1
                    if r.times is None or r.seen in r.times:
                        return r.fault
        return None

    def record(self, seen: Seen) -> int:
        with self._lock:
            self.requests.append(seen)
            return len(self.requests)

    def statuses(self, path: str | None = None) -> list[int | str]:
        return [s.status for s in self.requests if path is None or path in s.path]


def _handler_for(server: FaultServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format, *args):  # noqa: A002 - keep test output quiet
            pass

        def do_GET(self):
            self._handle(head=False)

        def do_HEAD(self):
            self._handle(head=True)

        def do_POST(self):
            self._handle(head=False)

        def _handle(self, *, head: bool) -> None:
            parts = urlsplit(self.path)
            body_in = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if len(server.requests) >= server.max_requests:
                self._send(429, b"fault server request limit reached", {}, head=head, seen=parts)
                return
            fault = server.fault_for(self.command, parts.path, parts.query)
            if fault is not None and fault.kind == "status":
                headers = {} if fault.retry_after is None else {"Retry-After": f"{fault.retry_after:g}"}
                self._send(fault.status, fault.body, headers, head=head, seen=parts)
                return
            if fault is not None and fault.kind == "hang":
                server.record(Seen(self.command, parts.path, parts.query, "hang"))
                time.sleep(min(fault.hang_s, server.remaining_s()))
                self.close_connection = True
                return
            code, body, headers = self._answer(parts.path, parts.query, body_in)
            truncate = fault is not None and fault.kind == "truncate" and len(body) > 1
            self._send(code, body, headers, head=head, seen=parts, truncate=truncate)

        def _send(self, code, body, headers, *, head, seen, truncate=False) -> None:
            """Answer ``body``; with ``truncate``, announce all of it, send half and hang up."""
            server.record(Seen(self.command, seen.path, seen.query, "truncate" if truncate else code))
            self.send_response(code)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if not head:
                self.wfile.write(body[: len(body) // 2] if truncate else body)
            if truncate:
                self.wfile.flush()
                self.close_connection = True

        def _answer(self, path: str, query: str, body_in: bytes) -> tuple[int, bytes, dict[str, str]]:
            if server.upstream is not None:
                return self._forward(path, query, body_in)
            return self._file(path)

        def _forward(self, path, query, body_in):
            assert server.upstream is not None
            url = server.upstream + path + (f"?{query}" if query else "")
            headers = {k: v for k, v in self.headers.items() if k.lower() in ("content-type", "accept")}
            request = urllib.request.Request(url, data=body_in or None, headers=headers, method=self.command)
            try:
                with urllib.request.urlopen(request, timeout=server.upstream_timeout_s) as response:
                    code, body, got = response.status, response.read(), response.headers
            except urllib.error.HTTPError as error:
                code, body, got = error.code, error.read(), error.headers
            body = body.replace(server.upstream.encode(), server.url.encode())
            keep = {k: v for k, v in got.items() if k.lower() == "content-type"}
            return code, body, keep

        def _file(self, path):
            assert server.root is not None
            target = (server.root / path.lstrip("/")).resolve()
            if server.root.resolve() not in target.parents or not target.is_file():
                return 404, b"not found", {}
            data = target.read_bytes()
            rng = self.headers.get("Range")
            headers = {"Accept-Ranges": "bytes", "Content-Type": "image/tiff"}
            if rng and rng.startswith("bytes="):
                start_s, _, end_s = rng[6:].split(",")[0].partition("-")
                start = int(start_s) if start_s else max(0, len(data) - int(end_s))
                end = min(int(end_s), len(data) - 1) if start_s and end_s else len(data) - 1
                if start >= len(data):
                    return 416, b"", {"Content-Range": f"bytes */{len(data)}"}
                headers["Content-Range"] = f"bytes {start}-{end}/{len(data)}"
                return 206, data[start : end + 1], headers
            return 200, data, headers

    return Handler


@contextmanager
def fault_server(**kwargs) -> Iterator[FaultServer]:
    """Run a :class:`FaultServer` for the length of the ``with`` block."""
    server = FaultServer(**kwargs).start()
    try:
        yield server
    finally:
        server.stop()
