"""Demo STAC items look like Planetary Computer's and describe the files exactly."""

from __future__ import annotations

import json
from pathlib import Path

import pystac
import pytest
import rasterio
from affine import Affine

COLLECTIONS = ("sentinel-1-rtc", "sentinel-2-l2a", "cop-dem-glo-30")

#: Keys seen in real PC items (shared/fixtures/stac/planetary-computer); the demo must use the same names.
PC_S1_ASSETS = {"vv", "vh", "tilejson", "rendered_preview"}
PC_S2_ASSETS = {f"B{b}" for b in ("01", "02", "03", "04", "05", "06", "07", "08", "09", "11", "12", "8A")} | {
    "AOT", "SCL", "WVP", "visual", "preview", "safe-manifest", "granule-metadata", "inspire-metadata",
    "product-metadata", "datastrip-metadata", "tilejson", "rendered_preview",
}  # fmt: skip
S1_PROPERTIES = {
    "datetime", "platform", "constellation", "proj:epsg", "proj:shape", "proj:transform", "proj:bbox",
    "sar:polarizations", "sat:orbit_state", "sar:instrument_mode", "sat:relative_orbit", "sat:absolute_orbit",
    "sar:product_type", "sar:frequency_band", "start_datetime", "end_datetime",
}  # fmt: skip
S2_PROPERTIES = {
    "datetime", "platform", "constellation", "proj:epsg", "eo:cloud_cover", "s2:processing_baseline",
    "s2:mgrs_tile", "sat:orbit_state", "sat:relative_orbit", "s2:product_type", "s2:snow_ice_percentage",
}  # fmt: skip


def _fixture_dir() -> Path | None:
    here = Path(__file__).resolve()
    for base in (*here.parents, Path("/work")):
        candidate = base / "shared" / "fixtures" / "stac" / "planetary-computer"
        if candidate.is_dir():
            return candidate
    return None


def _items(demo_dir: Path, cid: str) -> list[pystac.Item]:
    # migrate=False: pystac >= 1.12 otherwise rewrites proj:epsg into proj:code (projection v2) on load, and
    # these tests check the JSON as written (= as PC serves it).
    features = json.loads((demo_dir / "stac" / "items" / f"{cid}.json").read_text())["features"]
    return [pystac.Item.from_dict(f, migrate=False) for f in features]


@pytest.mark.parametrize("cid", COLLECTIONS)
def test_item_collections_load_with_pystac(demo_dir, cid):
    loaded = pystac.ItemCollection.from_file(str(demo_dir / "stac" / "items" / f"{cid}.json"))
    assert len(loaded) == len(_items(demo_dir, cid)) > 0
    for item in loaded:
        # (Schema validation is not run: the extension schemas are remote and tests run offline.)
        # pystac migrates proj:epsg (projection v1.x, as PC writes) to proj:code: readers must accept both.
        assert item.properties.get("proj:code", f"EPSG:{item.properties.get('proj:epsg')}").startswith(
            "EPSG:"
        )


@pytest.mark.parametrize("cid", COLLECTIONS)
def test_items_load_and_hrefs_point_at_final_files(demo_dir, cid):
    items = _items(demo_dir, cid)
    assert items
    for item in items:
        assert item.collection_id == cid
        for asset in item.assets.values():
            path = Path(asset.href)
            assert path.is_absolute() and path.is_file(), asset.href
            assert demo_dir in path.parents
        assert len(item.bbox) == 4 and -180 <= item.bbox[0] < item.bbox[2] <= 180


@pytest.mark.parametrize("cid", COLLECTIONS)
def test_collections_have_the_demo_extent(demo_dir, cid):
    coll = pystac.Collection.from_file(str(demo_dir / "stac" / "collections" / f"{cid}.json"))
    assert coll.id == cid
    bbox = coll.extent.spatial.bboxes[0]
    for item in _items(demo_dir, cid):
        assert bbox[0] <= item.bbox[0] + 0.01 and item.bbox[2] <= bbox[2] + 0.01
    assert coll.extra_fields["item_assets"]


def test_item_shapes_match_planetary_computer(demo_dir):
    s1, s2, dem = (_items(demo_dir, c) for c in COLLECTIONS)
    for item in s1:
        assert set(item.assets) <= PC_S1_ASSETS and {"vv", "vh"} <= set(item.assets)
        assert set(item.properties) >= S1_PROPERTIES
        assert item.properties["sar:polarizations"] == ["VV", "VH"]
        assert item.properties["sar:instrument_mode"] == "IW"
        assert item.id.startswith(("S1A_IW_GRDH_1SDV_", "S1B_IW_GRDH_1SDV_")) and item.id.endswith("_rtc")
        for key in ("vv", "vh"):
            assert item.assets[key].extra_fields["raster:bands"][0]["nodata"] == -32768
    assert {i.properties["sat:orbit_state"] for i in s1} == {"ascending", "descending"}
    for item in s2:
        assert set(item.assets) <= PC_S2_ASSETS
        assert {"B02", "B03", "B04", "B08", "B11", "B12", "SCL"} <= set(item.assets)
        assert set(item.properties) >= S2_PROPERTIES
        assert (
            item.id.startswith(("S2A_MSIL2A_", "S2B_MSIL2A_"))
            and f"_T{item.properties['s2:mgrs_tile']}_" in item.id
        )
        for key, asset in item.assets.items():
            assert {"proj:shape", "proj:transform", "proj:bbox", "gsd"} <= set(asset.extra_fields), key
            if key != "SCL":
                assert asset.extra_fields["eo:bands"][0]["name"] == key
    assert s2[0].properties["s2:mgrs_tile"] == "46SDD"
    for item in dem:
        assert set(item.assets) == {"data"} and item.properties["proj:epsg"] == 4326
        assert item.id.startswith("Copernicus_DSM_COG_10_N34_00_E092_00_DEM")


def test_stac_extensions_match_fixtures(demo_dir):
    fixtures = _fixture_dir()
    if fixtures is None:
        pytest.skip("PC fixtures (shared/fixtures/stac) not available")
    for cid in COLLECTIONS:
        real = json.loads(next((fixtures / cid).glob("*.json")).read_text())
        ours = _items(demo_dir, cid)[0].to_dict()
        assert set(ours["stac_extensions"]) <= set(real["stac_extensions"]) | {
            "https://stac-extensions.github.io/projection/v1.1.0/schema.json"
        }
        assert set(ours["assets"]) <= set(real["assets"])
        real_asset = real["assets"][
            "vv" if cid == "sentinel-1-rtc" else "B02" if cid == "sentinel-2-l2a" else "data"
        ]
        our_asset = ours["assets"][
            "vv" if cid == "sentinel-1-rtc" else "B02" if cid == "sentinel-2-l2a" else "data"
        ]
        assert set(real_asset) - {"file:checksum"} <= set(our_asset) | {"file:size"}
        if cid != "cop-dem-glo-30":
            assert set(real["properties"]) & {"proj:epsg", "sat:orbit_state", "platform"} <= set(
                ours["properties"]
            )


def _check_raster(href: str, *, epsg: int, transform: list[float], shape: list[int]) -> None:
    with rasterio.open(href) as ds:
        assert ds.crs.to_epsg() == epsg, href
        assert ds.transform.almost_equals(Affine(*transform[:6]), precision=1e-9), href
        assert [ds.height, ds.width] == shape, href


def test_rasters_have_the_grid_the_items_claim(demo_dir):
    for item in _items(demo_dir, "sentinel-1-rtc"):
        p = item.properties
        assert len(p["proj:transform"]) == 9  # as PC writes it
        for key in ("vv", "vh"):
            _check_raster(
                item.assets[key].href,
                epsg=p["proj:epsg"],
                transform=p["proj:transform"],
                shape=p["proj:shape"],
            )
    for item in _items(demo_dir, "sentinel-2-l2a"):
        for asset in item.assets.values():
            f = asset.extra_fields
            _check_raster(
                asset.href,
                epsg=item.properties["proj:epsg"],
                transform=f["proj:transform"],
                shape=f["proj:shape"],
            )
            with rasterio.open(asset.href) as ds:
                assert list(ds.bounds) == pytest.approx(f["proj:bbox"])
                assert ds.res == (f["gsd"], f["gsd"])
    for item in _items(demo_dir, "cop-dem-glo-30"):
        p = item.properties
        _check_raster(
            item.assets["data"].href, epsg=4326, transform=p["proj:transform"], shape=p["proj:shape"]
        )
