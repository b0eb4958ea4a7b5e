"""One composite job of the workflow: one sensor, one processing tile, one month, from a saved item list.

The search covers the whole AOI, so the items are first cut to those over the tile. Scenes lacking an asset
the composite needs, or whose files differ from their items' ``file:size`` (or ``file:checksum``), are
counted and listed, and skipped within ``max_failed_read_fraction`` (else the job stops); with that share
above 0 every scene is also opened first and unreadable ones are skipped and reported the same way. Then
the month is built and streamed, row by row, into its Zarr store (written atomically), so a full
tile-month never sits in memory.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import pystac
import xarray as xr

from permafusion.composite.build import build_optical_composite, build_sar_composite
from permafusion.composite.read import (
    Signer,
    UnreadableScene,
    drop_unreadable,
    set_gdal_cache,
    skip_within_allowance,
)
from permafusion.composite.settings import OpticalSettings, SarSettings
from permafusion.composite.verify import Verify, verify_items
from permafusion.geo.grid import GridSpec
from permafusion.geo.search import load_items
from permafusion.geo.tiles import items_over_grid

LOG = logging.getLogger(__name__)


def missing_assets(items: Sequence[pystac.Item], assets: Sequence[str]) -> dict[int, UnreadableScene]:
    """The scenes that lack an asset the composite needs, by position: the first asset each lacks."""
    missing: dict[int, UnreadableScene] = {}
    for index, item in enumerate(items):
        absent = [key for key in assets if key not in item.assets]
        if absent:
            have = ", ".join(sorted(item.assets)) or "none"
            missing[index] = UnreadableScene(
                item.id, absent[0], "", f"the item has no asset {absent[0]!r} (it has {have})"
            )
    return missing


def checked_items(
    items: Sequence[pystac.Item],
    *,
    assets: Sequence[str],
    sign: Signer | None,
    verify: Verify,
    max_failed_read_fraction: float,
    threads: int,
) -> list[pystac.Item]:
    """The scenes fit to read: none lacking an asset, none whose files differ from their items' size (or
    checksum), and with ``max_failed_read_fraction`` above 0 none that cannot be opened; the others are
    skipped and listed when they are within that share of the month, else the job stops listing them."""
    failed = {
        **verify_items(items, assets=assets, mode=verify, sign=sign, threads=threads),
        **missing_assets(items, assets),
    }
    items, _ = skip_within_allowance(
        items,
        failed,
        max_failed_read_fraction=max_failed_read_fraction,
        what="incomplete or not matching their items",
    )
    if max_failed_read_fraction > 0 and items:
        # open every scene first: unreadable ones are skipped and reported, within the allowed share
        items, _ = drop_unreadable(
            items,
            assets=assets,
            sign=sign,
            max_failed_read_fraction=max_failed_read_fraction,
            threads=threads,
        )
    return items


def composite_month(
    *,
    sensor: Literal["sar", "optical"],
    month: str,
    item_list: str | Path,
    grid: GridSpec,
    settings: Mapping[str, Any],
    sign: Signer | None,
    out: str | Path,
    max_failed_read_fraction: float = 0.0,
    verify: Verify = "size",
    gdal_cache_mb: int = 512,
    threads: int = 2,
    log: logging.Logger = LOG,
) -> xr.Dataset:
    """Build one tile-month composite of ``sensor`` from the items saved in ``item_list``.

    Args:
        sensor: ``"sar"`` (:class:`SarSettings`) or ``"optical"`` (:class:`OpticalSettings`).
        month: the month, ``YYYY-MM``.
        item_list: the month's saved (unsigned) items over the AOI.
        grid: the processing tile's grid.
        settings: the sensor's composite settings (a mapping of the settings class's fields).
        sign: signs hrefs right before reading (None for public or local files).
        out: the Zarr store to write.
        max_failed_read_fraction: share of the scenes that may be unreadable and skipped (0: none).
        verify: check files against their items' ``file:size`` (``"size"``), also ``file:checksum``
            (``"checksum"``, reads whole files), or not at all (``"none"``).
        gdal_cache_mb: most GDAL block cache for the job.
        threads: reader threads.
        log: where progress goes.

    Returns:
        The composite (lazily backed by the written store).
    """
    items = items_over_grid(load_items(item_list), grid)
    log.info(
        "%s composite of %s: %d items over the tile %s %s", sensor, month, len(items), grid.crs, grid.shape
    )
    set_gdal_cache(gdal_cache_mb)
    sensor_settings: SarSettings | OpticalSettings
    if sensor == "sar":
        sensor_settings = SarSettings.from_mapping(settings)
        assets = list(sensor_settings.polarizations)
    else:
        sensor_settings = OpticalSettings.from_mapping(settings)
        assets = [*sensor_settings.bands, sensor_settings.scl_asset]
    items = checked_items(
        items,
        assets=assets,
        sign=sign,
        verify=verify,
        max_failed_read_fraction=max_failed_read_fraction,
        threads=max(threads, 4),
    )
    if isinstance(sensor_settings, SarSettings):
        composite = build_sar_composite(
            items, grid=grid, months=[month], settings=sensor_settings, sign=sign, threads=threads, out=out
        )
    else:
        composite = build_optical_composite(
            items, grid=grid, months=[month], settings=sensor_settings, sign=sign, threads=threads, out=out
        )
    counts = composite["valid_count"]
    log.info(
        "mean valid observations %.2f; %.1f%% of pixels observed",
        float(counts.mean()),
        100 * float((counts > 0).mean()),
    )
    return composite
