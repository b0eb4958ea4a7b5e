"""STAC Items and Collections for the demo data, shaped like Planetary Computer's.

Asset keys, property names, ``stac_extensions`` URLs and per-asset projection fields follow the real PC
items (see the fixtures under ``shared/fixtures/stac/planetary-computer``), so the code that reads the demo
catalog is the code that reads PC. Differences on purpose: only the assets the pipeline uses are listed
(S2: B02 B03 B04 B08 B11 B12 SCL), hrefs are absolute local paths, and rasters cover the demo area rather
than a whole swath/tile. Quirks kept on purpose: S1's ``proj:transform`` has 9 elements (as PC's), the S2
SCL title carries PC's typo ("classfication").
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from affine import Affine
from pyproj import Transformer

from permafusion.demo.dem import DemTile
from permafusion.demo.sentinel1 import S1_NODATA, S1Acquisition, S1Raster
from permafusion.demo.sentinel2 import S2Acquisition, S2Rendered

COG_TYPE = "image/tiff; application=geotiff; profile=cloud-optimized"

S1_EXTENSIONS = [
    "https://stac-extensions.github.io/sar/v1.0.0/schema.json",
    "https://stac-extensions.github.io/sat/v1.0.0/schema.json",
    "https://stac-extensions.github.io/projection/v1.1.0/schema.json",
    "https://stac-extensions.github.io/file/v2.0.0/schema.json",
    "https://stac-extensions.github.io/raster/v1.1.0/schema.json",
]
S2_EXTENSIONS = [
    "https://stac-extensions.github.io/eo/v1.0.0/schema.json",
    "https://stac-extensions.github.io/sat/v1.0.0/schema.json",
    "https://stac-extensions.github.io/projection/v1.1.0/schema.json",
]
DEM_EXTENSIONS = ["https://stac-extensions.github.io/projection/v1.0.0/schema.json"]
ITEM_ASSETS_EXTENSION = "https://stac-extensions.github.io/item-assets/v1.0.0/schema.json"

_S1_ASSETS = {
    "vv": (
        "VV: vertical transmit, vertical receive",
        "Terrain-corrected gamma naught values of signal transmitted with vertical polarization and received "
        "with vertical polarization with radiometric terrain correction applied.",
    ),
    "vh": (
        "VH: vertical transmit, horizontal receive",
        "Terrain-corrected gamma naught values of signal transmitted with vertical polarization and received "
        "with horizontal polarization with radiometric terrain correction applied.",
    ),
}

#: PC's S2 asset titles and eo:bands (name, common name, description, centre wavelength, FWHM), per asset.
_S2_ASSETS: dict[str, tuple[str, float, tuple[str, str, str, float, float] | None]] = {
    "B02": ("Band 2 - Blue - 10m", 10.0, ("B02", "blue", "Band 2 - Blue", 0.49, 0.098)),
    "B03": ("Band 3 - Green - 10m", 10.0, ("B03", "green", "Band 3 - Green", 0.56, 0.045)),
    "B04": ("Band 4 - Red - 10m", 10.0, ("B04", "red", "Band 4 - Red", 0.665, 0.038)),
    "B08": ("Band 8 - NIR - 10m", 10.0, ("B08", "nir", "Band 8 - NIR", 0.842, 0.145)),
    "B11": ("Band 11 - SWIR (1.6) - 20m", 20.0, ("B11", "swir16", "Band 11 - SWIR (1.6)", 1.61, 0.143)),
    "B12": ("Band 12 - SWIR (2.2) - 20m", 20.0, ("B12", "swir22", "Band 12 - SWIR (2.2)", 2.19, 0.242)),
    "SCL": ("Scene classfication map (SCL)", 20.0, None),
}


def _iso(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def lonlat_footprint(polygon: shapely.Polygon, epsg: int) -> tuple[dict[str, Any], list[float]]:
    """GeoJSON geometry and bbox in lon/lat of a polygon in ``epsg`` (edges densified first)."""
    transformer = Transformer.from_crs(f"EPSG:{epsg}", "EPSG:4326", always_xy=True)
    dense = shapely.segmentize(polygon, max(math.sqrt(polygon.area) / 20.0, 10.0))
    lonlat = shapely.transform(dense, lambda xy: np.column_stack(transformer.transform(xy[:, 0], xy[:, 1])))
    lonlat = shapely.set_precision(lonlat, 1e-9)
    return shapely.geometry.mapping(lonlat), [float(v) for v in lonlat.bounds]


def _transform6(t: Affine) -> list[float]:
    return [t.a, t.b, t.c, t.d, t.e, t.f]


def _bbox(t: Affine, shape: tuple[int, int]) -> list[float]:
    h, w = shape
    return [t.c, t.f + h * t.e, t.c + w * t.a, t.f]


def _links(collection: str, catalog_dir: Path) -> list[dict[str, str]]:
    href = str(catalog_dir / "collections" / f"{collection}.json")
    return [
        {"rel": "collection", "type": "application/json", "href": href},
        {"rel": "parent", "type": "application/json", "href": href},
    ]


def s1_item(
    acq: S1Acquisition,
    raster: S1Raster,
    *,
    epsg: int,
    hrefs: dict[str, Path],
    file_sizes: dict[str, int],
    catalog_dir: Path,
) -> dict[str, Any]:
    """A ``sentinel-1-rtc`` item like PC's (item-level proj fields, ``vv``/``vh`` assets)."""
    geometry, bbox = lonlat_footprint(raster.footprint(), epsg)
    mid = acq.start + (acq.end - acq.start) / 2
    unit = acq.platform[-1]
    assets = {
        key: {
            "href": str(hrefs[key]),
            "file:size": file_sizes[key],
            "type": COG_TYPE,
            "roles": ["data"],
            "title": title,
            "description": description,
            "raster:bands": [{"nodata": int(S1_NODATA), "data_type": "float32", "spatial_resolution": 10.0}],
        }
        for key, (title, description) in _S1_ASSETS.items()
    }
    return {
        "type": "Feature",
        "stac_version": "1.0.0",
        "stac_extensions": S1_EXTENSIONS,
        "id": acq.item_id,
        "geometry": geometry,
        "bbox": bbox,
        "collection": "sentinel-1-rtc",
        "links": _links("sentinel-1-rtc", catalog_dir),
        "assets": assets,
        "properties": {
            "datetime": _iso(mid),
            "start_datetime": _iso(acq.start),
            "end_datetime": _iso(acq.end),
            "platform": acq.platform,
            "constellation": "Sentinel-1",
            "proj:epsg": epsg,
            "proj:bbox": _bbox(raster.transform, raster.shape),
            "proj:shape": list(raster.shape),
            # PC writes the full 3x3 matrix for S1 RTC (9 numbers); readers must take the first six.
            "proj:transform": [*_transform6(raster.transform), 0.0, 0.0, 1.0],
            "s1:shape": [raster.shape[1], raster.shape[0]],
            "s1:resolution": "high",
            "s1:datatake_id": str(acq.datatake_id),
            "s1:orbit_source": "RESORB",
            "s1:slice_number": "7",
            "s1:total_slices": "12",
            "s1:processing_level": "1",
            "s1:product_timeliness": "Fast-24h",
            "s1:instrument_configuration_ID": "7",
            "sar:looks_range": 5,
            "sar:looks_azimuth": 1,
            "sar:product_type": "GRD",
            "sar:polarizations": ["VV", "VH"],
            "sar:frequency_band": "C",
            "sar:instrument_mode": "IW",
            "sar:center_frequency": 5.405,
            "sar:resolution_range": 20,
            "sar:resolution_azimuth": 22,
            "sar:pixel_spacing_range": 10,
            "sar:pixel_spacing_azimuth": 10,
            "sar:observation_direction": "right",
            "sar:looks_equivalent_number": 4.4,
            "sat:orbit_state": acq.orbit_state,
            "sat:absolute_orbit": acq.absolute_orbit,
            "sat:relative_orbit": acq.relative_orbit,
            "sat:platform_international_designator": {"A": "2014-016A", "B": "2016-025A"}.get(
                unit, "2024-235A"
            ),
        },
    }


def _reflectance_conversion_factor(day: dt.date) -> float:
    """Earth-Sun distance correction (Sentinel-2 product metadata ``U``)."""
    doy = day.timetuple().tm_yday
    return 1.0 / (1.0 - 0.01673 * math.cos(0.0172 * (doy - 4))) ** 2


def s2_item(
    acq: S2Acquisition,
    rendered: S2Rendered,
    *,
    tile: str,
    epsg: int,
    transform10: Affine,
    shape10: tuple[int, int],
    footprint: shapely.Polygon,
    hrefs: dict[str, Path],
    catalog_dir: Path,
) -> dict[str, Any]:
    """A ``sentinel-2-l2a`` item like PC's (item-level ``proj:epsg``, per-asset proj fields)."""
    geometry, bbox = lonlat_footprint(footprint, epsg)
    item_id = acq.item_id(tile)
    baseline = rendered.baseline
    n = f"N{baseline.replace('.', '')}"
    unit = "S2" + acq.platform[-1]
    absolute = 37185 + round((acq.sensed.date() - dt.date(2024, 4, 19)).days * 14.3)
    fmt = "%Y%m%dT%H%M%S"
    sensed, generated = f"{acq.sensed:{fmt}}", f"{acq.generated:{fmt}}"
    assets: dict[str, Any] = {}
    for key, (title, gsd, band) in _S2_ASSETS.items():
        scale = gsd / 10.0
        t = transform10 @ Affine.scale(scale)
        shape = (round(shape10[0] / scale), round(shape10[1] / scale))
        asset: dict[str, Any] = {
            "href": str(hrefs[key]),
            "proj:bbox": _bbox(t, shape),
            "proj:shape": list(shape),
            "proj:transform": _transform6(t),
            "gsd": gsd,
            "type": COG_TYPE,
            "roles": ["data"],
            "title": title,
        }
        if band is not None:
            name, common, description, center, fwhm = band
            asset["eo:bands"] = [
                {
                    "name": name,
                    "common_name": common,
                    "description": description,
                    "center_wavelength": center,
                    "full_width_half_max": fwhm,
                }
            ]
        assets[key] = asset
    pct = rendered.percentages
    properties: dict[str, Any] = {
        "datetime": _iso(acq.sensed),
        "platform": acq.platform,
        "proj:epsg": epsg,
        "instruments": ["msi"],
        "s2:mgrs_tile": tile,
        "constellation": "Sentinel 2",
        "s2:granule_id": f"{unit}_OPER_MSI_L2A_TL_MSFT_{generated}_A{absolute:06d}_T{tile}_{n}",
        "eo:cloud_cover": pct["cloud_cover"],
        "s2:datatake_id": f"G{unit}_{sensed}_{absolute:06d}_{n}",
        "s2:product_uri": f"{unit}_MSIL2A_{sensed}_{n}_R{acq.relative_orbit:03d}_T{tile}_{generated}.SAFE",
        "s2:datastrip_id": f"{unit}_OPER_MSI_L2A_DS_MSFT_{generated}_S{sensed}_{n}",
        "s2:product_type": "S2MSI2A",
        "sat:orbit_state": "descending",
        "s2:datatake_type": "INS-NOBS",
        "s2:generation_time": _iso(acq.generated),
        "sat:relative_orbit": acq.relative_orbit,
        "s2:mean_solar_zenith": round(rendered.solar_zenith, 6),
        "s2:mean_solar_azimuth": round(rendered.solar_azimuth, 6),
        "s2:processing_baseline": baseline,
        "s2:reflectance_conversion_factor": _reflectance_conversion_factor(acq.sensed.date()),
        "s2:unclassified_percentage": 0.0,
        "s2:dark_features_percentage": 0.0,
        "s2:degraded_msi_data_percentage": 0.0,
        "s2:saturated_defective_pixel_percentage": 0.0,
    }
    for key, value in pct.items():
        if key != "cloud_cover":
            properties[f"s2:{key}"] = value
    return {
        "type": "Feature",
        "stac_version": "1.0.0",
        "stac_extensions": S2_EXTENSIONS,
        "id": item_id,
        "geometry": geometry,
        "bbox": bbox,
        "collection": "sentinel-2-l2a",
        "links": _links("sentinel-2-l2a", catalog_dir),
        "assets": assets,
        "properties": properties,
    }


def dem_item(tile: DemTile, *, href: Path, catalog_dir: Path) -> dict[str, Any]:
    """A ``cop-dem-glo-30`` item like PC's (one ``data`` asset, EPSG:4326)."""
    west, south, east, north = tile.bounds
    geometry, bbox = lonlat_footprint(shapely.box(west, south, east, north), 4326)
    return {
        "type": "Feature",
        "stac_version": "1.0.0",
        "stac_extensions": DEM_EXTENSIONS,
        "id": tile.item_id,
        "geometry": geometry,
        "bbox": bbox,
        "collection": "cop-dem-glo-30",
        "links": _links("cop-dem-glo-30", catalog_dir),
        "assets": {
            "data": {
                "href": str(href),
                "title": tile.item_id.removeprefix("Copernicus_DSM_COG_10_").removesuffix("_DEM"),
                "type": COG_TYPE,
                "roles": ["data"],
            }
        },
        "properties": {
            "gsd": 30,
            "datetime": "2021-04-22T00:00:00Z",
            "platform": "TanDEM-X",
            "proj:epsg": 4326,
            "proj:shape": list(tile.data.shape),
            "proj:transform": _transform6(tile.transform),
        },
    }


#: Collection-level fields taken from PC's collection templates (microsoft/planetary-computer-tasks).
_COLLECTIONS: dict[str, dict[str, Any]] = {
    "sentinel-1-rtc": {
        "title": "Sentinel 1 Radiometrically Terrain Corrected (RTC)",
        "description": "Radiometrically terrain corrected SAR imagery derived from the Sentinel 1 Level 1 "
        "GRD product. (Synthetic permafusion demo data shaped like Planetary Computer's collection.)",
        "license": "CC-BY-4.0",
        "keywords": ["ESA", "Copernicus", "Sentinel", "C-Band", "SAR", "RTC"],
        "links": [
            {"rel": "license", "href": "https://creativecommons.org/licenses/by/4.0/", "title": "CC BY 4.0"},
            {
                "rel": "describedby",
                "href": "https://planetarycomputer.microsoft.com/dataset/sentinel-1-rtc",
                "type": "text/html",
                "title": "Human readable dataset overview and reference",
            },
        ],
        "stac_extensions": [
            "https://stac-extensions.github.io/sar/v1.0.0/schema.json",
            "https://stac-extensions.github.io/sat/v1.0.0/schema.json",
            ITEM_ASSETS_EXTENSION,
        ],
        "providers": [
            {"name": "Catalyst", "roles": ["processor"], "url": "https://catalyst.earth"},
            {
                "name": "Microsoft",
                "roles": ["host", "licensor"],
                "url": "https://planetarycomputer.microsoft.com",
            },
        ],
        "summaries": {
            "platform": ["SENTINEL-1A", "SENTINEL-1B", "SENTINEL-1C"],
            "constellation": ["Sentinel-1"],
            "sat:orbit_state": ["ascending", "descending"],
            "sar:product_type": ["GRD"],
            "sar:polarizations": [["VV", "VH"]],
            "sar:frequency_band": ["C"],
            "sar:instrument_mode": ["IW"],
            "sar:center_frequency": [5.405],
            "sar:looks_equivalent_number": [4.4],
        },
    },
    "sentinel-2-l2a": {
        "title": "Sentinel-2 Level-2A",
        "description": "The Sentinel-2 program provides global imagery in thirteen spectral bands at 10m-60m "
        "resolution and a revisit time of approximately five days. (Synthetic permafusion demo data shaped "
        "like Planetary Computer's collection.)",
        "license": "proprietary",
        "keywords": ["Sentinel", "Copernicus", "ESA", "Satellite", "Global", "Imagery", "Reflectance"],
        "links": [
            {
                "rel": "license",
                "href": "https://scihub.copernicus.eu/twiki/pub/SciHubWebPortal/TermsConditions/"
                "Sentinel_Data_Terms_and_Conditions.pdf",
                "title": "Copernicus Sentinel data terms",
            },
            {
                "rel": "describedby",
                "href": "https://planetarycomputer.microsoft.com/dataset/sentinel-2-l2a",
                "type": "text/html",
                "title": "Human readable dataset overview and reference",
            },
        ],
        "stac_extensions": [ITEM_ASSETS_EXTENSION],
        "providers": [
            {
                "name": "ESA",
                "roles": ["producer", "licensor"],
                "url": "https://sentinel.esa.int/web/sentinel/missions/sentinel-2",
            },
            {"name": "Esri", "roles": ["processor"], "url": "https://www.esri.com/"},
            {
                "name": "Microsoft",
                "roles": ["host", "processor"],
                "url": "https://planetarycomputer.microsoft.com",
            },
        ],
        "summaries": {
            "gsd": [10, 20],
            "platform": ["Sentinel-2A", "Sentinel-2B", "Sentinel-2C"],
            "instruments": ["msi"],
            "constellation": ["sentinel-2"],
        },
    },
    "cop-dem-glo-30": {
        "title": "Copernicus DEM GLO-30",
        "description": "Copernicus DEM 30 is a near-global digital surface model (DSM) with a horizontal "
        "resolution of approximately 30 meters, derived from radar satellite data acquired during the "
        "TanDEM-X mission. (Synthetic permafusion demo data shaped like Planetary Computer's collection.)",
        "license": "proprietary",
        "keywords": ["Copernicus", "DEM", "DSM", "Elevation"],
        "links": [
            {
                "rel": "license",
                "href": "https://spacedata.copernicus.eu/documents/20126/0/CSCDA_ESA_Mission-specific+Annex.pdf",
                "title": "Copernicus DEM License",
            },
            {
                "rel": "describedby",
                "href": "https://planetarycomputer.microsoft.com/dataset/cop-dem-glo-30",
                "type": "text/html",
                "title": "Human readable dataset overview and reference",
            },
        ],
        "stac_extensions": [ITEM_ASSETS_EXTENSION],
        "providers": [
            {
                "name": "European Space Agency",
                "roles": ["licensor"],
                "url": "https://spacedata.copernicus.eu/documents/20126/0/CSCDA_ESA_Mission-specific+Annex.pdf",
            },
            {
                "name": "Sinergise",
                "roles": ["producer", "processor"],
                "url": "https://registry.opendata.aws/copernicus-dem/",
            },
            {"name": "OpenTopography", "roles": ["host"], "url": "https://doi.org/10.5069/G9028PQB"},
            {"name": "Microsoft", "roles": ["host"], "url": "https://planetarycomputer.microsoft.com"},
        ],
        "summaries": {"gsd": [30], "platform": ["tandem-x"]},
    },
}


def collection(
    collection_id: str,
    *,
    bbox: list[float],
    interval: tuple[str, str],
    items: list[dict[str, Any]],
) -> dict[str, Any]:
    """A STAC Collection with PC's fields, the demo extent, and ``item_assets`` taken from ``items``.

    Args:
        collection_id: ``sentinel-1-rtc``, ``sentinel-2-l2a`` or ``cop-dem-glo-30``.
        bbox: spatial extent (lon/lat).
        interval: temporal extent (RFC 3339 start, end).
        items: the collection's items (their first item's assets, minus hrefs and per-file fields).
    """
    base = _COLLECTIONS[collection_id]
    per_file = {"href", "file:size", "proj:bbox", "proj:shape", "proj:transform"}
    item_assets = {}
    if items:
        for key, asset in items[0]["assets"].items():
            item_assets[key] = {k: v for k, v in asset.items() if k not in per_file}
    return {
        "type": "Collection",
        "id": collection_id,
        "stac_version": "1.0.0",
        "description": base["description"],
        "links": base["links"],
        "stac_extensions": base["stac_extensions"],
        "item_assets": item_assets,
        "title": base["title"],
        "extent": {"spatial": {"bbox": [bbox]}, "temporal": {"interval": [list(interval)]}},
        "license": base["license"],
        "keywords": base["keywords"],
        "providers": base["providers"],
        "summaries": base["summaries"],
    }


def item_collection(items: list[dict[str, Any]]) -> dict[str, Any]:
    """A GeoJSON FeatureCollection of items (what ``pystac.ItemCollection.from_file`` reads)."""
    return {"type": "FeatureCollection", "features": items}
