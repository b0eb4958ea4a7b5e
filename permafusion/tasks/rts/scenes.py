"""Per site and year: the summer Sentinel-2 scene closest to a target date under a cloud limit (seed 001
§3.1), read on the site's grid.

Candidates are the year's summer items (searched by the workflow) whose footprint covers the site and
whose ``eo:cloud_cover`` is at most ``max_cloud``, ordered by their distance in days to the target date.
Because a scene-wide cloud cover says little about a 10 km site, each candidate's pixels are checked as
well: the first whose share of clear pixels on the site (SCL not in ``mask_classes``: no data, saturated,
cloud shadow, clouds, cirrus, snow) reaches ``min_clear`` is kept. A year without such a scene is skipped
and reported, not an error: the yearly series lists it as missing.

Optionally (``method: median``) the year's image is a summer composite from the engine instead: the
per-pixel median over every clear acquisition of the summer's months, pooled into one period
(:func:`permafusion.composite.build.build_optical_composite` with ``pool=True``: the same SCL masking,
baseline harmonisation and one-count-per-datatake as the degradation task's monthly composites). It
trades the single date of the seed's rule for fewer gaps.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pystac
import rasterio
import shapely.geometry

from permafusion.composite.build import build_optical_composite
from permafusion.composite.optical import dn_to_reflectance, has_baseline_offset, scl_valid
from permafusion.composite.read import Signer, compute, stack_assets
from permafusion.composite.settings import OpticalSettings
from permafusion.core.files import atomic_write, write_json
from permafusion.geo.grid import GridSpec

LOG = logging.getLogger(__name__)

#: The 10 m bands of the seed, in channel order.
BANDS: tuple[str, ...] = ("B02", "B03", "B04", "B08")


@dataclass(frozen=True)
class SceneRule:
    """How a year's scene is chosen.

    Attributes:
        target: target month and day ("MM-DD"), e.g. the labels' collection date or mid-summer.
        method: ``"closest"`` (the seed's rule) or ``"median"`` (a summer median composite).
        max_cloud: item ``eo:cloud_cover`` limit in percent (seed: 10).
        min_clear: share of the site's pixels that must be clear in the scene.
        mask_classes: SCL classes treated as not clear.
    """

    target: str = "07-31"
    method: str = "closest"
    max_cloud: float = 10.0
    min_clear: float = 0.9
    mask_classes: tuple[int, ...] = (0, 1, 3, 8, 9, 10, 11)

    def target_date(self, year: int) -> dt.date:
        month, day = (int(p) for p in self.target.split("-"))
        return dt.date(year, month, day)


def candidates(
    items: Sequence[pystac.Item], *, site_bbox: Sequence[float], year: int, rule: SceneRule
) -> list[pystac.Item]:
    """Items of ``year`` over the site under the cloud limit, closest to the target date first."""
    site = shapely.geometry.box(*site_bbox)
    target = rule.target_date(year)
    kept = []
    for item in items:
        cloud = item.properties.get("eo:cloud_cover")
        if (
            cloud is None
            or float(cloud) > rule.max_cloud
            or item.datetime is None
            or item.datetime.year != year
        ):
            continue
        if item.geometry is not None and not shapely.geometry.shape(item.geometry).covers(site):
            continue
        kept.append(item)
    return sorted(kept, key=lambda it: (abs((it.datetime.date() - target).days), it.id))  # type: ignore[union-attr]


@dataclass(frozen=True)
class SiteScene:
    """A year's image of a site: reflectance (4, H, W) float32, NaN where not clear; or None if skipped."""

    image: np.ndarray | None
    info: dict[str, Any]


def read_scene(
    item: pystac.Item, *, grid: GridSpec, rule: SceneRule, sign: Signer | None = None
) -> tuple[np.ndarray, float]:
    """Reflectance of one item's bands on ``grid`` (NaN where not clear) and the clear share."""
    stack = stack_assets([item], grid=grid, assets=[*BANDS, "SCL"], resampling="nearest", sign=sign)
    data = np.asarray(compute(stack.data, signed_to_unsigned=stack.signed_to_unsigned))[0]
    dn, scl = data[: len(BANDS)], data[len(BANDS)]
    offset = has_baseline_offset(item.properties.get("s2:processing_baseline"), item.datetime)
    reflectance = dn_to_reflectance(dn, offset=offset).astype(np.float32)
    clear = scl_valid(scl, rule.mask_classes) & np.isfinite(dn).all(axis=0) & (dn > 0).all(axis=0)
    reflectance[:, ~clear] = np.nan
    return reflectance, float(clear.mean())


def select_scene(
    items: Sequence[pystac.Item],
    *,
    site: str,
    site_bbox: Sequence[float],
    year: int,
    grid: GridSpec,
    rule: SceneRule,
    sign: Signer | None = None,
    log: logging.Logger = LOG,
) -> SiteScene:
    """The year's scene of a site by the seed's rule, or a skip with the reason."""
    base: dict[str, Any] = {"site": site, "year": year, "target": str(rule.target_date(year))}
    options = candidates(items, site_bbox=site_bbox, year=year, rule=rule)
    tried = []
    for item in options:
        image, clear = read_scene(item, grid=grid, rule=rule, sign=sign)
        tried.append(f"{item.id} ({clear:.0%} clear)")
        if clear >= rule.min_clear:
            log.info("%s %d: %s, %s, %.0f %% clear", site, year, item.id, item.datetime, 100 * clear)
            return SiteScene(
                image,
                {
                    **base,
                    "status": "ok",
                    "item": item.id,
                    "datetime": item.datetime.isoformat() if item.datetime else None,
                    "eo:cloud_cover": item.properties.get("eo:cloud_cover"),
                    "clear_fraction": clear,
                },
            )
    reason = (
        f"no Sentinel-2 scene of summer {year} with cloud cover <= {rule.max_cloud} % covers site {site}"
        if not options
        else f"none of the {len(options)} scenes under the cloud limit is {rule.min_clear:.0%} clear over "
        f"site {site}: {', '.join(tried)}"
    )
    log.warning(
        "%s %d skipped: %s (raise `rts.scene.max_cloud` or lower `rts.scene.min_clear`)", site, year, reason
    )
    return SiteScene(None, {**base, "status": "skipped", "reason": reason, "item": None})


def write_site_scene(scene: SiteScene, grid: GridSpec, tif: str | Path, info: str | Path) -> None:
    """The scene as a 4-band float32 GeoTIFF (all NaN when skipped) and its JSON description."""
    image = scene.image if scene.image is not None else np.full((len(BANDS), *grid.shape), np.nan, np.float32)
    profile = {
        **grid.raster_profile(dtype="float32", count=len(BANDS), nodata=float("nan")),
        "compress": "deflate",
    }
    with atomic_write(tif, suffix=".tif") as tmp, rasterio.open(tmp, "w", **profile) as dataset:
        dataset.write(image.astype(np.float32))
        for band, name in enumerate(BANDS, start=1):
            dataset.set_band_description(band, name)
    write_json(scene.info, info)


def summer_median(
    items: Sequence[pystac.Item],
    *,
    site: str,
    site_bbox: Sequence[float],
    year: int,
    months: Sequence[str],
    grid: GridSpec,
    rule: SceneRule,
    sign: Signer | None = None,
    log: logging.Logger = LOG,
) -> SiteScene:
    """A site's summer image as the engine's median over all the summer's clear scenes, or a skip."""
    base: dict[str, Any] = {"site": site, "year": year, "method": "median", "months": list(months)}
    site_shape = shapely.geometry.box(*site_bbox)
    kept = [
        item
        for item in items
        if float(item.properties.get("eo:cloud_cover", 100.0)) <= rule.max_cloud
        and (item.geometry is None or shapely.geometry.shape(item.geometry).intersects(site_shape))
    ]
    if not kept:
        reason = (
            f"no Sentinel-2 scene of summer {year} with cloud cover <= {rule.max_cloud} % over site {site}"
        )
        log.warning("%s %d skipped: %s", site, year, reason)
        return SiteScene(None, {**base, "status": "skipped", "reason": reason, "item": None})
    settings = OpticalSettings(bands=BANDS, mask_classes=rule.mask_classes)
    composite = build_optical_composite(
        kept, grid=grid, months=list(months), settings=settings, sign=sign, pool=True
    )
    image = np.asarray(composite["reflectance"].values[0], np.float32)  # (band, y, x), NaN unobserved
    clear = float(np.isfinite(image).all(axis=0).mean())
    if clear < rule.min_clear:
        reason = f"the summer median of {len(kept)} scenes leaves only {clear:.0%} of site {site} observed"
        log.warning("%s %d skipped: %s", site, year, reason)
        return SiteScene(None, {**base, "status": "skipped", "reason": reason, "item": None})
    log.info(
        "%s %d: median of %d scenes over %s, %.0f %% observed", site, year, len(kept), months, 100 * clear
    )
    return SiteScene(
        image,
        {
            **base,
            "status": "ok",
            "item": f"median of {len(kept)} scenes",
            "scenes": [it.id for it in kept],
            "clear_fraction": clear,
        },
    )
