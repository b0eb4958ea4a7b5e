"""A folder of STAC Collections and Items served as a STAC API, for offline and HPC users.

``catalog: {kind: local, path: DIR}`` points at any folder of STAC JSON files (Collections, Items,
ItemCollections, e.g. written by ``rio stac`` from local GeoTIFFs). The folder is scanned recursively; Item
asset hrefs relative to their file are made absolute (remote hrefs are kept), the Items are gathered into
one ItemCollection beside the Collections, and :func:`permafusion.geo.stac_server.serve_local_catalog`
serves them on loopback, so the search is the same pystac-client code as against a remote API.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pystac

from permafusion.geo.stac_server import serve_local_catalog


class LocalCatalogError(ValueError):
    """A local catalog folder that cannot be served; the message names the folder or file."""


def _absolute(href: str, base: Path) -> str:
    if urlparse(href).scheme in ("http", "https", "s3", "gs", "az", "file") or os.path.isabs(href):
        return href
    return str((base / href).resolve())


def scan_catalog(folder: str | Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Collections and Items (hrefs made absolute) of every STAC JSON file under ``folder``.

    Raises:
        LocalCatalogError: the folder is missing, or holds no Collection or no Item, or a JSON file
            cannot be parsed.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise LocalCatalogError(
            f"local catalog folder {folder} does not exist: fix `catalog.path` in the AOI file"
        )
    collections: list[dict[str, Any]] = []
    items: list[dict[str, Any]] = []
    for path in sorted(folder.rglob("*.json")):
        try:
            document = json.loads(path.read_text())
        except (OSError, ValueError) as error:
            raise LocalCatalogError(
                f"{path} in the local catalog is not valid JSON ({error}): fix or remove it"
            ) from None
        kind = document.get("type") if isinstance(document, dict) else None
        features = (
            [document]
            if kind == "Feature"
            else document.get("features", [])
            if kind == "FeatureCollection"
            else []
        )
        if kind == "Collection":
            collections.append(document)
        for feature in features:
            for asset in feature.get("assets", {}).values():
                if "href" in asset:
                    asset["href"] = _absolute(asset["href"], path.parent)
            feature["links"] = [
                link for link in feature.get("links", []) if link.get("rel") not in ("root", "parent", "self")
            ]
            items.append(feature)
    if not collections or not items:
        raise LocalCatalogError(
            f"local catalog folder {folder} holds {len(collections)} Collection and {len(items)} Item files: "
            "it needs "
            "both (e.g. `rio stac` for the Items and a Collection JSON per collection id)"
        )
    known = {c["id"] for c in collections}
    orphans = sorted({str(item.get("collection")) for item in items} - known)
    if orphans:
        raise LocalCatalogError(
            f"local catalog folder {folder}: items name collections {orphans} "
            "that have no Collection file; add them"
        )
    return collections, items


@contextmanager
def serve_catalog_folder(folder: str | Path) -> Iterator[str]:
    """Serve a folder of STAC files on loopback for the length of the block; yields the API root URL."""
    collections, items = scan_catalog(folder)
    with tempfile.TemporaryDirectory(prefix="permafusion-stac-") as tmp:
        files = []
        for i, document in enumerate(collections):
            path = Path(tmp, f"collection-{i}.json")
            path.write_text(json.dumps(document))
            files.append(path)
        bundle = Path(tmp, "items.json")
        bundle.write_text(json.dumps({"type": "FeatureCollection", "features": items}))
        with serve_local_catalog([*files, bundle]) as url:
            yield url


def missing_assets(items: Sequence[pystac.Item], required: Sequence[str]) -> list[tuple[str, str]]:
    """(item id, asset key) of every required asset an item lacks."""
    return [(item.id, key) for item in items for key in required if key not in item.assets]
