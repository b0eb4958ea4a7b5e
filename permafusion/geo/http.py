"""HTTP resilience for catalog searches: retries with backoff, a timeout on every request, redaction.

pystac-client's :class:`~pystac_client.stac_api_io.StacApiIO` takes an ``urllib3`` ``Retry`` as
``max_retries`` and mounts it on its ``requests`` session; its default retries neither POST (the method
of a STAC ``/search``) nor on HTTP statuses. :func:`stac_api_io` builds one that does both, honours
``Retry-After`` (capped), and also retries a body cut short mid-transfer (which ``urllib3`` cannot see,
as ``requests`` reads the body after the retry loop).
"""

from __future__ import annotations

import json
import logging
import re
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import requests
from pystac_client.exceptions import APIError
from pystac_client.stac_api_io import StacApiIO
from urllib3.util.retry import Retry

log = logging.getLogger(__name__)

#: HTTP statuses worth another try: rate limiting and transient server/gateway errors.
RETRY_STATUSES = (429, 500, 502, 503, 504)
#: The longest ``Retry-After`` honoured; a server asking for more gets this.
MAX_RETRY_AFTER_S = 120.0

_URL = re.compile(r"""(?:https?|s3|gs|az|file|/vsicurl/https?)://[^\s'"<>]+""")
#: Query fields of signed URLs: Azure SAS, AWS S3 (SigV4 and SigV2), Google Cloud Storage, bearer tokens.
SIGNATURE_FIELDS = frozenset(
    {
        *("sig", "se", "st", "sp", "sv", "sr", "ss", "srt", "si", "sdd", "spr"),
        *("skoid", "sktid", "skt", "ske", "sks", "skv"),
        *("x-amz-algorithm", "x-amz-credential", "x-amz-date", "x-amz-expires", "x-amz-signedheaders"),
        *("x-amz-signature", "x-amz-security-token", "awsaccesskeyid", "signature", "expires"),
        *("x-goog-algorithm", "x-goog-credential", "x-goog-date", "x-goog-expires", "x-goog-signedheaders"),
        *("x-goog-signature", "token", "access_token"),
    }
)
#: Fields whose presence marks a URL as signed (the others above are only dropped along with one of these).
_SIGNED_BY = frozenset(
    {
        "sig",
        "x-amz-signature",
        "x-amz-security-token",
        "signature",
        "x-goog-signature",
        "token",
        "access_token",
    }
)
_SECRET_QUERY = re.compile(
    r"(?i)(?<![\w-])(?:"
    + "|".join(re.escape(f) for f in sorted(SIGNATURE_FIELDS, key=len, reverse=True))
    + r")=[^&\s'\"]*"
)


def redact(text: str) -> str:
    """``text`` with the query string of every URL removed and any stray signature field blanked.

    For messages and logs, where a URL's query is never needed.
    """
    text = _URL.sub(lambda m: m.group(0).split("?", 1)[0], text)
    return _SECRET_QUERY.sub("[redacted]", text)


def strip_signature(href: str) -> str:
    """``href`` without the fields of a signed URL (Azure SAS, AWS S3, GCS, tokens); others are kept.

    For hrefs that are saved, where a query an unsigned URL needs must stay.
    """
    parts = urlsplit(href)
    if not parts.query:
        return href
    fields = parse_qsl(parts.query, keep_blank_values=True)
    if not any(key.lower() in _SIGNED_BY for key, _ in fields):
        return href
    kept = [(key, value) for key, value in fields if key.lower() not in SIGNATURE_FIELDS]
    return urlunsplit(parts._replace(query=urlencode(kept)))


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try one HTTP request.

    Args:
        retries: further attempts after the first, for connection errors, timeouts, cut-short bodies and
            the statuses in :data:`RETRY_STATUSES`.
        backoff_s: base of the exponential backoff: waits of 0, 2*b, 4*b, 8*b ... seconds (urllib3's
            schedule), or the server's ``Retry-After`` when it sends one (at most
            :data:`MAX_RETRY_AFTER_S`).
        timeout_s: connect and read timeout of every request.
    """

    retries: int = 5
    backoff_s: float = 1.0
    timeout_s: float = 60.0

    def __post_init__(self) -> None:
        if self.retries < 0:
            raise ValueError(f"retries must be >= 0, got {self.retries}")
        if self.backoff_s < 0:
            raise ValueError(f"backoff_s must be >= 0, got {self.backoff_s}")
        if not self.timeout_s > 0:
            raise ValueError(f"timeout_s must be > 0, got {self.timeout_s}")

    def wait_s(self, attempt: int) -> float:
        """Seconds to wait before retry number ``attempt`` (1-based), as urllib3 schedules it."""
        return 0.0 if attempt <= 1 else self.backoff_s * 2 ** (attempt - 1)


class _CappedRetry(Retry):
    """urllib3's Retry, with ``Retry-After`` capped at :data:`MAX_RETRY_AFTER_S`."""

    def get_retry_after(self, response: Any) -> float | None:
        after = super().get_retry_after(response)
        return None if after is None else min(after, MAX_RETRY_AFTER_S)


def urllib3_retry(policy: RetryPolicy) -> Retry:
    """An urllib3 ``Retry`` for ``policy`` that retries every method, POST included.

    When retries run out on a retryable status the last response is returned (``raise_on_status=False``),
    so the caller sees the real status rather than a generic "too many retries".
    """
    return _CappedRetry(
        total=policy.retries,
        connect=policy.retries,
        read=policy.retries,
        status=policy.retries,
        other=0,
        redirect=5,
        allowed_methods=None,  # None = every method; STAC /search is a POST
        status_forcelist=RETRY_STATUSES,
        backoff_factor=policy.backoff_s,
        respect_retry_after_header=True,
        raise_on_status=False,
    )


class _BodyRetrySession(requests.Session):
    """A session that retries a request whose body was cut short (``ChunkedEncodingError``)."""

    def __init__(self, policy: RetryPolicy) -> None:
        super().__init__()
        self.policy = policy

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        for attempt in range(1, self.policy.retries + 2):
            try:
                return super().send(request, **kwargs)
            except (
                requests.exceptions.ChunkedEncodingError,
                requests.exceptions.ContentDecodingError,
            ) as err:
                if attempt > self.policy.retries:
                    raise
                wait = self.policy.wait_s(attempt)
                log.warning(
                    "%s %s: answer cut short (%s); retry %d of %d in %.1f s",
                    request.method,
                    redact(str(request.url)),
                    type(err).__name__,
                    attempt,
                    self.policy.retries,
                    wait,
                )
                time.sleep(wait)
        raise AssertionError("unreachable")  # pragma: no cover


class RequestFailedError(RuntimeError):
    """An HTTP request failed for good (retries spent, or an answer not worth retrying).

    Attributes:
        method: the HTTP method.
        url: the URL without its query string.
        status: the last HTTP status, or None when no answer came (timeout, connection error).
        detail: the server's answer or the client's error, redacted and shortened.
        attempts: how many times the request was sent.
    """

    def __init__(self, method: str, url: str, status: int | None, detail: str, attempts: int) -> None:
        self.method, self.url, self.status, self.detail, self.attempts = method, url, status, detail, attempts
        super().__init__(f"{method} {url} failed: {status or detail}")


class ResilientStacApiIO(StacApiIO):
    """``StacApiIO`` that retries per a :class:`RetryPolicy` and fails with :class:`RequestFailedError`."""

    def __init__(self, policy: RetryPolicy, **kwargs: Any) -> None:
        self.policy = policy
        retry = urllib3_retry(policy)
        super().__init__(timeout=policy.timeout_s, max_retries=retry, **kwargs)
        session = _BodyRetrySession(policy)
        session.headers.update(self.session.headers)
        session.params = self.session.params
        adapter = requests.adapters.HTTPAdapter(max_retries=retry)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        self.session = session

    def update(
        self,
        headers: dict[str, str] | None = None,
        parameters: dict[str, Any] | None = None,
        request_modifier: Any = None,
        timeout: Any = None,
    ) -> None:
        """As ``StacApiIO.update``, but a missing timeout keeps the policy's (``Client.open`` passes None)."""
        super().update(
            headers=headers,
            parameters=parameters,
            request_modifier=request_modifier,
            timeout=self.policy.timeout_s if timeout is None else timeout,
        )

    def request(
        self,
        href: str,
        method: str | None = None,
        headers: dict[str, str] | None = None,
        parameters: dict[str, Any] | None = None,
    ) -> str:
        verb = (method or "GET").upper()
        try:
            for attempt in range(1, self.policy.retries + 2):
                text = super().request(href, method=method, headers=headers, parameters=parameters)
                if _is_json(text):
                    return text
                # a 200 whose body is not JSON (a proxy's HTML page, a body mangled on the way): worth
                # another try like a cut-short answer, then a failure that says what came back
                if attempt > self.policy.retries:
                    detail = "the answer is not JSON: " + redact(" ".join(text.split()))[:120]
                    raise RequestFailedError(verb, redact(str(href)), 200, detail, attempt)
                wait = self.policy.wait_s(attempt)
                log.warning(
                    "%s %s: answer is not JSON; retry %d of %d in %.1f s",
                    verb,
                    redact(str(href)),
                    attempt,
                    self.policy.retries,
                    wait,
                )
                time.sleep(wait)
            raise AssertionError("unreachable")  # pragma: no cover
        except APIError as err:
            status = getattr(err, "status_code", None)
            retryable = status is None or status in RETRY_STATUSES
            attempts = self.policy.retries + 1 if retryable else 1
            detail = redact(" ".join(str(err).split()))[:300]
            raise RequestFailedError(verb, redact(str(href)), status, detail, attempts) from None


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def stac_api_io(policy: RetryPolicy, **kwargs: Any) -> ResilientStacApiIO:
    """A pystac-client ``StacApiIO`` that retries and times out as ``policy`` says.

    Args:
        policy: retries, backoff and timeout.
        **kwargs: passed to ``StacApiIO`` (headers, parameters, request_modifier).
    """
    return ResilientStacApiIO(policy, **kwargs)
