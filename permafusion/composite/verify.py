"""Checking imagery files against what their STAC items say before their pixels are used.

A file with bytes overwritten in place keeps its size and often still decodes, to wrong pixels; a file cut
short or replaced does not keep its size. STAC's file extension records both: ``file:size`` (bytes) and
``file:checksum`` (a multihash, or as Planetary Computer's Sentinel-1 RTC items have it, a bare MD5 hex
digest). The size is checked for every asset that states one (a ``stat`` for local files, a ``HEAD``
request for remote ones: no pixel is read); the checksum only when asked (``composite.verify: checksum``),
since it reads the whole file (a Sentinel-1 RTC asset is about 1.8 GB).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

import pystac
import requests

from permafusion.composite.read import Signer, UnreadableScene, prepare_items
from permafusion.geo.http import redact

log = logging.getLogger(__name__)

Verify = Literal["none", "size", "checksum"]
VERIFY_MODES: tuple[str, ...] = ("none", "size", "checksum")

#: Multihash function codes (hex prefix: code, digest length) of the hashes STAC catalogs use.
_MULTIHASH: dict[str, str] = {"1114": "sha1", "1220": "sha256", "1340": "sha512", "d510": "md5"}
_CHUNK = 8 << 20
_TIMEOUT_S = 60.0


def expected_checksum(value: str) -> tuple[str, str] | None:
    """(hashlib name, hex digest) of a ``file:checksum`` value, or None for a form not known here."""
    text = value.strip().lower()
    if len(text) == 32 and all(c in "0123456789abcdef" for c in text):
        return "md5", text  # a bare MD5 digest, as Planetary Computer writes it
    for prefix, name in _MULTIHASH.items():
        if text.startswith(prefix) and len(text) == len(prefix) + 2 * hashlib.new(name).digest_size:
            return name, text[len(prefix) :]
    return None


def _local_path(href: str) -> Path | None:
    parts = urlsplit(href)
    if parts.scheme in ("", "file"):
        return Path(parts.path if parts.scheme else href)
    return None


def remote_size(href: str) -> int | None:
    """The size a server gives for ``href`` (HEAD, or a one-byte ranged GET), None when it gives none."""
    answer = requests.head(href, timeout=_TIMEOUT_S, allow_redirects=True)
    if answer.ok and answer.headers.get("Content-Length"):
        return int(answer.headers["Content-Length"])
    answer = requests.get(href, headers={"Range": "bytes=0-0"}, timeout=_TIMEOUT_S, stream=True)
    answer.close()
    total = answer.headers.get("Content-Range", "").rpartition("/")[2]
    return int(total) if total.isdigit() else None


def _digest(href: str, algorithm: str) -> str:
    hasher = hashlib.new(algorithm)
    path = _local_path(href)
    if path is not None:
        with open(path, "rb") as file:
            while chunk := file.read(_CHUNK):
                hasher.update(chunk)
        return hasher.hexdigest()
    with requests.get(href, timeout=_TIMEOUT_S, stream=True) as answer:
        answer.raise_for_status()
        for chunk in answer.iter_content(_CHUNK):
            hasher.update(chunk)
    return hasher.hexdigest()


def check_file(href: str, *, size: int | None, checksum: str | None) -> str | None:
    """Why the file at ``href`` differs from its stated size or checksum; None when it agrees.

    Args:
        href: the file (local path, ``file://`` or ``http(s)://``, signed if it needs to be).
        size: ``file:size``, or None to skip the size.
        checksum: ``file:checksum``, or None to skip the checksum.
    """
    try:
        if size is not None:
            path = _local_path(href)
            actual = path.stat().st_size if path is not None else remote_size(href)
            if actual is not None and actual != size:
                return f"the file has {actual} bytes, its item says {size} (file:size): partial or replaced"
        if checksum is not None:
            expected = expected_checksum(checksum)
            if expected is None:
                log.warning(
                    "file:checksum %r of %s is of a form not known here; not checked", checksum, redact(href)
                )
                return None
            algorithm, digest = expected
            actual_digest = _digest(href, algorithm)
            if actual_digest != digest:
                return (
                    f"its {algorithm} is {actual_digest}, its item says {digest} (file:checksum): the bytes "
                    "changed since the catalog recorded them"
                )
    except (OSError, requests.RequestException) as error:
        return redact(f"could not be checked: {type(error).__name__}: {error}")[:300]
    return None


def verify_items(
    items: Sequence[pystac.Item],
    *,
    assets: Sequence[str],
    mode: Verify,
    sign: Signer | None = None,
    threads: int = 4,
    check: Callable[..., str | None] = check_file,
) -> dict[int, UnreadableScene]:
    """Check every asset of ``items`` that states a size (and a checksum when ``mode`` is ``"checksum"``).

    Returns:
        For each item with a file that does not match, its position in ``items`` and the first mismatch.

    Raises:
        ValueError: for an unknown mode.
    """
    if mode not in VERIFY_MODES:
        raise ValueError(f"composite.verify must be one of {VERIFY_MODES}, got {mode!r}")
    if mode == "none" or not items:
        return {}
    prepared, hrefs = prepare_items(items, sign)
    jobs = []
    for index, copy in enumerate(prepared):
        for key in assets:
            asset = items[index].assets.get(key)
            if asset is None or key not in copy.assets:
                continue
            size = asset.extra_fields.get("file:size")
            checksum = asset.extra_fields.get("file:checksum") if mode == "checksum" else None
            if size is None and checksum is None:
                continue
            href = copy.assets[key].get_absolute_href() or copy.assets[key].href
            jobs.append((index, key, href, size, checksum))
    with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
        problems = list(pool.map(lambda job: check(job[2], size=job[3], checksum=job[4]), jobs))
    failed: dict[int, UnreadableScene] = {}
    for (index, key, href, _, _), problem in zip(jobs, problems, strict=True):
        if problem is not None and index not in failed:
            unsigned = hrefs.get(href, ("", "", href.split("?", 1)[0]))[2]
            failed[index] = UnreadableScene(items[index].id, key, unsigned, problem)
    return failed
