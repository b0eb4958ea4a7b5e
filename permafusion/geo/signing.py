"""Href signing, applied to item copies right before reading and never persisted."""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Callable
from urllib.parse import urlparse

import pystac

from permafusion.geo.aoi import Signing

Signer = Callable[[pystac.Item], pystac.Item]


def signer_for(signing: Signing) -> Signer | None:
    """The function that signs an item for reading, or None when hrefs need no signing."""
    if signing == "none":
        return None
    if signing == "planetary_computer":
        import planetary_computer

        # sign() returns a signed copy and leaves the item (and so the saved list) untouched.
        return planetary_computer.sign
    raise ValueError(f"unknown signing {signing!r}: use 'none' or 'planetary_computer'")


def forget_cached_token(href: str) -> int:
    """Drop planetary_computer's cached SAS token for the storage account/container of ``href``.

    ``planetary_computer`` keeps tokens in ``planetary_computer.sas.TOKEN_CACHE`` (key
    ``{sas_url}/{account}/{container}``) and reuses one until a minute before its stated expiry; a token
    revoked or expired early would be handed out again. Returns how many entries were dropped.
    """
    sas = sys.modules.get("planetary_computer.sas")
    parsed = urlparse(href)
    if sas is None or not parsed.netloc.endswith(".blob.core.windows.net"):
        return 0
    suffix = f"/{parsed.netloc.split('.', 1)[0]}/{parsed.path.lstrip('/').split('/', 1)[0]}"
    stale = [key for key in sas.TOKEN_CACHE if key.endswith(suffix)]
    for key in stale:
        sas.TOKEN_CACHE.pop(key, None)
    return len(stale)


def resign_href(href: str, sign: Signer) -> str:
    """Sign ``href`` afresh with ``sign``: drop its query (the old token) and any cached token first."""
    unsigned = href.split("?", 1)[0]
    forget_cached_token(unsigned)
    item = pystac.Item("resign", None, None, dt.datetime(2000, 1, 1, tzinfo=dt.UTC), {})
    item.add_asset("asset", pystac.Asset(unsigned))
    return sign(item).assets["asset"].href
