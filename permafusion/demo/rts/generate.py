"""Write the thaw-slump demo: Sentinel-2 L2A-like COGs for every summer, a DEM, a local STAC folder, and
the dated slump outlines.

Per summer five acquisitions (late June to early September); each has its own clouds and cloud shadows,
and the June ones melting snow patches; SCL marks them (3 shadow, 8/9 cloud, 11 snow) at 20 m as the real
product does, and ``eo:cloud_cover`` is the cloud share of the scene. Digital numbers carry the +1000
offset from processing baseline 04.00 (2022-01-25 on). One summer (``CLOUDY_YEAR``) has no scene under a
10 % cloud limit, so the series has a year to skip.

The STAC folder holds Collection files and one Item file per scene, as ``rio stac`` writes them, with
hrefs relative to the item file; ``catalog: {kind: local, path: ...}`` serves it.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import shapely

from permafusion.core.files import write_json
from permafusion.demo.cog import write_cog
from permafusion.demo.rts.scene import RtsWorld, build_world
from permafusion.demo.scene import smooth_noise
from permafusion.demo.stac_items import COG_TYPE, collection, lonlat_footprint

LOG = logging.getLogger(__name__)

CLOUDY_YEAR = 2017
SUMMER_DAYS = ((6, 24), (7, 14), (7, 31), (8, 18), (9, 6))
BANDS = ("B02", "B03", "B04", "B08")
#: Reflectance of slump floors (wet mineral soil) and of the look-alike gravel, B02 B03 B04 B08.
SLUMP_REFLECTANCE = (0.075, 0.095, 0.115, 0.175)
BARE_REFLECTANCE = (0.080, 0.100, 0.120, 0.180)


def _dn(reflectance: np.ndarray, day: dt.date) -> np.ndarray:
    offset = 1000 if day >= dt.date(2022, 1, 25) else 0
    return np.clip(np.round(reflectance * 10000) + offset, 1, 65535).astype(np.uint16)


def render(
    world: RtsWorld, day: dt.date, rng: np.random.Generator, *, cloud_target: float
) -> tuple[np.ndarray, np.ndarray, float]:
    """Reflectance (4, H, W), SCL (H/2, W/2) and cloud cover (%) of one acquisition."""
    shape = world.grid.shape
    image = world.tundra.copy()
    image *= (1.0 + 0.03 * rng.standard_normal(shape))[None]
    texture = 1.0 + 0.08 * rng.standard_normal(shape)
    for band, value in enumerate(BARE_REFLECTANCE):
        image[band][world.bare] = value * texture[world.bare]
    for slump in world.slumps:  # stable slumps green up again, each at its own pace
        mask = world.slump_mask(day.year, [slump])
        green = slump.regrowth(day.year)
        for band, value in enumerate(SLUMP_REFLECTANCE):
            image[band][mask] = (1 - green) * value * texture[mask] + green * image[band][mask]
    image *= float(rng.uniform(0.9, 1.1))  # illumination and atmosphere differ from scene to scene
    scl = np.full(shape, 4, np.uint8)  # vegetation
    scl[world.bare | world.slump_mask(day.year)] = 5  # bare soils
    if day.month == 6:  # late-lying snow
        snow = smooth_noise(rng, shape, 25.0) > 1.3
        image[:, snow] = np.array([0.85, 0.85, 0.83, 0.75], np.float32)[:, None]
        scl[snow] = 11
    cloud_cover = 0.0
    if cloud_target > 0:
        field = smooth_noise(rng, shape, 30.0)
        cloud = field > np.quantile(field, 1 - cloud_target / 100)
        shadow = np.roll(cloud, (12, -15), axis=(0, 1)) & ~cloud
        image[:, shadow] *= 0.35
        scl[shadow] = 3
        image[:, cloud] = np.array([0.45, 0.46, 0.47, 0.52], np.float32)[:, None]
        scl[cloud] = 9
        cloud_cover = float(cloud.mean() * 100)
    return image, scl[::2, ::2], cloud_cover


def _item(
    world: RtsWorld, item_id: str, when: dt.datetime, cloud: float, hrefs: Mapping[str, str]
) -> dict[str, Any]:
    grid = world.grid
    geometry, bbox = lonlat_footprint(shapely.box(*grid.bounds), grid.epsg)
    assets = {}
    for key, href in hrefs.items():
        scale = 2 if key == "SCL" else 1
        shape = [-(-grid.shape[0] // scale), -(-grid.shape[1] // scale)]  # SCL is every other 10 m pixel
        t = grid.transform
        assets[key] = {
            "href": href,
            "type": COG_TYPE,
            "roles": ["data"],
            "gsd": 10.0 * scale,
            "proj:shape": shape,
            "proj:transform": [t.a * scale, 0.0, t.c, 0.0, t.e * scale, t.f],
        }
    baseline = "05.09" if when.date() >= dt.date(2022, 1, 25) else "02.12"
    return {
        "type": "Feature",
        "stac_version": "1.0.0",
        "stac_extensions": [
            "https://stac-extensions.github.io/eo/v1.0.0/schema.json",
            "https://stac-extensions.github.io/projection/v1.1.0/schema.json",
        ],
        "id": item_id,
        "collection": "sentinel-2-l2a",
        "geometry": geometry,
        "bbox": bbox,
        "links": [],
        "assets": assets,
        "properties": {
            "datetime": when.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "platform": "Sentinel-2A",
            "eo:cloud_cover": round(cloud, 3),
            "proj:epsg": grid.epsg,
            "s2:processing_baseline": baseline,
        },
    }


def generate_rts_demo(
    *,
    aoi_bbox: Sequence[float],
    sites: Mapping[str, Sequence[float]],
    years: Sequence[int],
    seed: int,
    stac_dir: Path,
    labels: Path,
) -> RtsWorld:
    """Write the demo's imagery, DEM, STAC folder and labels; returns the world (for tests)."""
    world = build_world(aoi_bbox=aoi_bbox, sites=sites, years=years, seed=seed)
    grid = world.grid
    data_dir = stac_dir / "data"
    item_dir = stac_dir / "items"
    items = []
    for year in years:
        rng = np.random.default_rng([seed, year])
        clear_one = int(rng.integers(1, len(SUMMER_DAYS)))  # a clear July-September scene, not June's
        for k, (month, day) in enumerate(SUMMER_DAYS):
            when = dt.datetime(year, month, day, 20, 31, tzinfo=dt.UTC) + dt.timedelta(
                days=int(rng.integers(-3, 4))
            )
            if year == CLOUDY_YEAR:
                cloud_target = float(rng.uniform(25, 70))
            elif k == clear_one:
                cloud_target = float(rng.uniform(0, 3))
            else:
                cloud_target = float(rng.choice([rng.uniform(0, 6), rng.uniform(15, 70)]))
            image, scl, cloud = render(world, when.date(), rng, cloud_target=cloud_target)
            item_id = f"S2A_MSIL2A_{when:%Y%m%dT%H%M%S}_R100_T08WMC"
            hrefs = {}
            dn = _dn(image, when.date())
            for band, key in enumerate(BANDS):
                path = data_dir / item_id / f"{key}.tif"
                write_cog(path, dn[band], transform=grid.transform, crs=grid.crs, nodata=0)
                hrefs[key] = f"../data/{item_id}/{key}.tif"
            write_cog(
                data_dir / item_id / "SCL.tif",
                scl,
                transform=grid.transform * grid.transform.scale(2),
                crs=grid.crs,
                nodata=0,
            )
            hrefs["SCL"] = f"../data/{item_id}/SCL.tif"
            item = _item(world, item_id, when, cloud, hrefs)
            write_json(item, item_dir / f"{item_id}.json")
            items.append(item)
    dem_id = "Copernicus_DSM_demo_rts"
    write_cog(
        data_dir / dem_id / "data.tif", world.elevation, transform=grid.transform, crs=grid.crs, nodata=None
    )
    dem = _item(
        world, dem_id, dt.datetime(2021, 4, 22, tzinfo=dt.UTC), 0.0, {"data": f"../data/{dem_id}/data.tif"}
    )
    dem["collection"] = "cop-dem-glo-30"
    dem["properties"] = {"datetime": "2021-04-22T00:00:00Z", "proj:epsg": grid.epsg, "gsd": 10}
    write_json(dem, item_dir / f"{dem_id}.json")
    lonlat = list(lonlat_footprint(shapely.box(*grid.bounds), grid.epsg)[1])
    interval = (f"{min(years)}-01-01T00:00:00Z", f"{max(years)}-12-31T23:59:59Z")
    write_json(
        collection("sentinel-2-l2a", bbox=lonlat, interval=interval, items=items),
        stac_dir / "collections" / "sentinel-2-l2a.json",
    )
    write_json(
        collection("cop-dem-glo-30", bbox=lonlat, interval=interval, items=[dem]),
        stac_dir / "collections" / "cop-dem-glo-30.json",
    )
    rows = []
    for slump in world.slumps:
        for year in years:
            outline = slump.outline(year)
            if outline is not None:
                rows.append({"site": slump.site, "year": year, "geometry": outline})
    frame = gpd.GeoDataFrame(rows, geometry="geometry", crs=grid.crs).to_crs(4326)
    labels.parent.mkdir(parents=True, exist_ok=True)
    frame.to_file(labels, driver="GPKG")
    LOG.info(
        "%d scenes, %d slumps, %d dated outlines written under %s",
        len(items),
        len(world.slumps),
        len(frame),
        stac_dir,
    )
    return world
