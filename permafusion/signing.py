"""Href signing, applied to item copies right before reading and never persisted."""

from __future__ import annotations

from collections.abc import Callable

import pystac

from permafusion.aoi import Signing

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
