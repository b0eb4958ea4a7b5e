"""A real STAC API on loopback, for local catalogs: ``rustac serve`` with its in-memory backend.

The demo and the tests search local items through the same pystac-client code path as Planetary Computer.
The server lives only as long as the ``with`` block; it answers collections, bbox, datetime, ids and
paging, but not ``query``/``filter``, so callers refine on item properties client-side.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path


class StacServerError(RuntimeError):
    """The local STAC server could not be started."""


def _free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_until_up(url: str, process: subprocess.Popen[bytes], timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(url, timeout=2):
                return True
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.1)
    return False


@contextlib.contextmanager
def serve_local_catalog(
    hrefs: Sequence[str | Path], *, startup_timeout_s: float = 30.0, attempts: int = 3
) -> Iterator[str]:
    """Serve Collection and ItemCollection files as a STAC API; yields its root URL.

    Args:
        hrefs: Collection JSON files first, then ItemCollection (FeatureCollection) files.
        startup_timeout_s: how long to wait for the server to answer.
        attempts: ports tried, in case another process takes the free port first.

    Raises:
        StacServerError: rustac is missing, a file is missing, or the server did not start.
    """
    executable = shutil.which("rustac")
    if executable is None:
        raise StacServerError("the `rustac` command is not installed: `pip install rustac`")
    for href in hrefs:
        if not Path(href).is_file():
            raise StacServerError(f"local catalog file {href} does not exist")
    stderr = b""
    for _ in range(attempts):
        port = _free_loopback_port()
        url = f"http://127.0.0.1:{port}"
        process = subprocess.Popen(
            [executable, "serve", "--addr", f"127.0.0.1:{port}", *map(str, hrefs)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            if _wait_until_up(url, process, startup_timeout_s):
                yield url
                return
            process.kill()
            stderr = process.communicate(timeout=5)[1]
        finally:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
    message = stderr.decode(errors="replace").strip()[-2000:]
    raise StacServerError(f"`rustac serve` did not start after {attempts} attempts: {message}")
