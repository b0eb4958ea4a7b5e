"""One composite job of the workflow: one sensor, one processing tile, one month, from a saved item list.

The search covers the whole AOI, so the items are first cut to those over the tile; with
``max_failed_read_fraction`` above 0 every scene is opened first and unreadable ones are skipped and
reported within that share; then the month is built and streamed, row by row, into its Zarr store (written
atomically), so a full tile-month never sits in memory.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import xarray as xr

from permafusion.composite.build import build_optical_composite, build_sar_composite
from permafusion.composite.read import Signer, drop_unreadable, set_gdal_cache
from permafusion.composite.settings import OpticalSettings, SarSettings
from permafusion.geo.grid import GridSpec
from permafusion.geo.search import load_items
from permafusion.geo.tiles import items_over_grid

LOG = logging.getLogger(__name__)


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
    if max_failed_read_fraction > 0 and items:
        # open every scene first: unreadable ones are skipped and reported, within the allowed share
        items, _ = drop_unreadable(
            items, assets=assets, sign=sign, max_failed_read_fraction=max_failed_read_fraction
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
