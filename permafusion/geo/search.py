"""Item search: one pystac-client code path for Planetary Computer and for local catalogs.

Item lists are saved unsigned: signing (Planetary Computer SAS tokens) happens right before reading, so no
secret ever reaches the disk or a log.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pystac
import shapely.geometry
from pystac_client import Client

from permafusion.core.files import write_json
from permafusion.geo.http import RequestFailedError, RetryPolicy, stac_api_io, strip_signature

log = logging.getLogger(__name__)


class EmptySearchError(RuntimeError):
    """A search found no usable item; the message says which settings to widen."""


class SearchFailedError(RuntimeError):
    """The STAC API could not be searched (retries spent, timeouts, a rejected request).

    The message names the API host, the request (method and path, no query string) and what to do; it
    holds no secret.
    """


@dataclass(frozen=True)
class SearchRequest:
    """One search of one collection.

    Args:
        collection: collection id, e.g. "sentinel-2-l2a".
        bbox: (west, south, east, north) in degrees.
        datetime: STAC datetime interval "start/end".
        max_cloud: keep items with `eo:cloud_cover` at most this (percent); None keeps all.
        orbit_state: keep only "ascending" or "descending" items; None keeps both.
        server_side_query: send the cloud filter as a STAC `query` too (Planetary Computer supports it;
            rustac's memory backend does not). Items are always refined client-side as well.
        page_size: items per page asked of the API.
        max_items: stop after this many items (a guard against runaway searches).
        intersects: an optional GeoJSON geometry (a polygon AOI, in degrees). The API is searched by its
            bounding box intersected with ``bbox`` and items are kept only where their footprint
            intersects the geometry itself.
        extra_query: more STAC ``query`` terms, sent only with ``server_side_query``.
    """

    collection: str
    bbox: tuple[float, float, float, float]
    datetime: str
    max_cloud: float | None = None
    orbit_state: str | None = None
    server_side_query: bool = False
    page_size: int = 250
    max_items: int = 20000
    extra_query: Mapping[str, Any] = field(default_factory=dict)
    intersects: Mapping[str, Any] | None = None

    def __post_init__(self) -> None:
        if self.orbit_state not in (None, "ascending", "descending"):
            raise ValueError(
                f"orbit_state must be 'ascending', 'descending' or None, got {self.orbit_state!r}"
            )
        if self.intersects is not None:
            shape = shapely.geometry.shape(self.intersects)
            if shape.is_empty or not shape.is_valid:
                raise ValueError("`intersects` must be a valid, non-empty GeoJSON geometry")

    def aoi_shape(self) -> shapely.geometry.base.BaseGeometry:
        """The area items must intersect: ``bbox``, clipped to ``intersects`` when given."""
        box = shapely.geometry.box(*self.bbox)
        return box if self.intersects is None else box.intersection(shapely.geometry.shape(self.intersects))

    def search_bbox(self) -> tuple[float, float, float, float]:
        """The bbox sent to the API: that of :meth:`aoi_shape` (never empty, for a useful error)."""
        shape = self.aoi_shape()
        return self.bbox if shape.is_empty else tuple(shape.bounds)  # type: ignore[return-value]


def _keep(item: pystac.Item, request: SearchRequest, aoi_shape: shapely.geometry.base.BaseGeometry) -> bool:
    props = item.properties
    if request.max_cloud is not None:
        cloud = props.get("eo:cloud_cover")
        if cloud is None or float(cloud) > request.max_cloud:
            return False
    if request.orbit_state is not None and props.get("sat:orbit_state") != request.orbit_state:
        return False
    return item.geometry is None or shapely.geometry.shape(item.geometry).intersects(aoi_shape)


def search_items(
    url: str,
    request: SearchRequest,
    *,
    timeout_s: float = 60.0,
    retries: int = 5,
    backoff_s: float = 1.0,
) -> pystac.ItemCollection:
    """Search a STAC API and refine the result on the client.

    Every request has a timeout and is retried (POST included) on connection errors, timeouts, cut-short
    answers and HTTP 429/500/502/503/504, with exponential backoff or the server's ``Retry-After``.

    Args:
        url: the STAC API root.
        request: what to search for.
        timeout_s: timeout of every HTTP request (config `search.timeout_s`).
        retries: further attempts of a failed request (config `search.retries`).
        backoff_s: base of the exponential backoff between attempts (config `search.backoff_s`).

    Returns:
        The matching items, sorted by datetime then id, unsigned.

    Raises:
        EmptySearchError: nothing matched.
        SearchFailedError: the API could not be searched (retries spent, or a rejected request).
    """
    policy = RetryPolicy(retries=retries, backoff_s=backoff_s, timeout_s=timeout_s)
    query: dict[str, Any] = dict(request.extra_query)
    if request.server_side_query and request.max_cloud is not None:
        query["eo:cloud_cover"] = {"lte": request.max_cloud}
    if request.server_side_query and request.orbit_state is not None:
        query["sat:orbit_state"] = {"eq": request.orbit_state}
    try:
        client = Client.open(url, stac_io=stac_api_io(policy))
        search = client.search(
            collections=[request.collection],
            bbox=list(request.search_bbox()),
            datetime=request.datetime,
            limit=request.page_size,
            max_items=request.max_items,
            query=(query or None) if request.server_side_query else None,
        )
        found, kept = _collect(search.items(), request)
    except RequestFailedError as err:
        raise SearchFailedError(_failure_message(url, err, policy)) from None
    log.info("%s: %d items found, %d kept after property filters", request.collection, found, len(kept))
    if not kept:
        hints = ["widen `bbox` or the period (`start`, `end`)"]
        if request.max_cloud is not None:
            hints.append(f"raise `optical.max_cloud` (now {request.max_cloud})")
        if request.orbit_state is not None:
            hints.append(f"set `sar.orbit_state` to `both` (now {request.orbit_state})")
        raise EmptySearchError(
            f"no {request.collection} item over bbox {list(request.bbox)} in {request.datetime} "
            f"({found} found before property filters): " + "; or ".join(hints)
        )
    kept.sort(key=lambda it: (it.datetime or dt.datetime.min.replace(tzinfo=dt.UTC), it.id))
    return pystac.ItemCollection(kept, clone_items=False)


def _collect(items: Iterable[pystac.Item], request: SearchRequest) -> tuple[int, list[pystac.Item]]:
    aoi_shape = request.aoi_shape()
    found = 0
    kept: list[pystac.Item] = []
    for item in items:
        found += 1
        if _keep(item, request, aoi_shape):
            kept.append(item)
    return found, kept


def _api_name(url: str) -> str:
    host = urlparse(url).netloc or url
    return "Planetary Computer" if "planetarycomputer" in host else f"the STAC API at {host}"


def _failure_message(url: str, err: RequestFailedError, policy: RetryPolicy) -> str:
    api = _api_name(url)
    where = f"{err.method} {urlparse(err.url).path or '/'}"
    if err.status == 200:
        return (
            f"{api} answered {where} {err.attempts} times with a body that is not a STAC answer "
            f"({err.detail[:200]}); check `catalog.url` (a proxy or login page?) or try again later"
        )
    if err.status is not None and err.attempts > 1:
        return (
            f"{api} answered {err.status} {err.attempts} times for {where} "
            f"(last answer: {err.detail[:200]}); try again later or lower `search.page_size`"
        )
    if err.status is not None:
        return f"{api} refused {where} with HTTP {err.status}: {err.detail[:300]}; check the search settings"
    return (
        f"{api} did not answer {where} in {err.attempts} attempts of {policy.timeout_s:g} s each "
        f"({err.detail[:200]}); check the network, try again later, raise `search.timeout_s` or lower "
        "`search.page_size`"
    )


def _detach(items: Iterable[pystac.Item]) -> None:
    """Make saved items stand alone and hold no secret.

    Drops the signature a catalog may have put on asset hrefs, on their ``alternate`` hrefs and on links
    (Azure SAS, AWS S3 presigned URLs and security tokens, GCS signed URLs), the ``root``/``parent`` links
    (pystac would fetch the API root to resolve them whenever an item is serialised) and links to a
    loopback server that is gone once the search ends.
    """
    for item in items:
        for asset in item.assets.values():
            asset.href = strip_signature(asset.href)
            for alternate in (asset.extra_fields.get("alternate") or {}).values():
                if isinstance(alternate, dict) and isinstance(alternate.get("href"), str):
                    alternate["href"] = strip_signature(alternate["href"])
        item.links = [
            link
            for link in item.links
            if link.rel not in ("root", "parent")
            # the raw target: resolving `href` would fetch the root of a catalog that may be gone
            and urlparse(link.target if isinstance(link.target, str) else "").hostname
            not in ("127.0.0.1", "localhost", "::1")
        ]
        for link in item.links:
            if isinstance(link.target, str):
                link.target = strip_signature(link.target)


def save_items(items: pystac.ItemCollection, path: str | Path) -> None:
    """Write an ItemCollection atomically, unsigned."""
    _detach(items)
    write_json(items.to_dict(transform_hrefs=False), path, indent=None)


def load_items(path: str | Path) -> list[pystac.Item]:
    """Read a saved item list; a corrupt file raises an error naming it."""
    try:
        return list(pystac.ItemCollection.from_file(str(path)))
    except (OSError, ValueError, KeyError) as error:
        raise ValueError(
            f"item list {path} is unreadable ({error}); delete it and rerun the search"
        ) from error
