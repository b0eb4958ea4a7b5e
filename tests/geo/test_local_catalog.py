"""`catalog: {kind: local, path: DIR}`: any folder of STAC files served by rustac and searched like an API."""

import json

import pystac
import pytest

from permafusion.geo.local_catalog import (
    LocalCatalogError,
    missing_assets,
    scan_catalog,
    serve_catalog_folder,
)
from permafusion.geo.search import SearchRequest, search_items


def _item(item_id: str, day: str, assets: dict[str, str]) -> dict:
    return {
        "type": "Feature",
        "stac_version": "1.0.0",
        "id": item_id,
        "collection": "sentinel-2-l2a",
        "geometry": {"type": "Polygon", "coordinates": [[[10, 50], [11, 50], [11, 51], [10, 51], [10, 50]]]},
        "bbox": [10, 50, 11, 51],
        "properties": {"datetime": f"{day}T10:00:00Z", "eo:cloud_cover": 5.0},
        "links": [{"rel": "root", "href": "../catalog.json"}],
        "assets": {key: {"href": href, "type": "image/tiff"} for key, href in assets.items()},
    }


def _folder(tmp_path):
    (tmp_path / "stac" / "items" / "2020").mkdir(parents=True)
    collection = {
        "type": "Collection",
        "id": "sentinel-2-l2a",
        "stac_version": "1.0.0",
        "description": "s2",
        "license": "proprietary",
        "links": [],
        "extent": {"spatial": {"bbox": [[10, 50, 11, 51]]}, "temporal": {"interval": [[None, None]]}},
    }
    (tmp_path / "stac" / "collection.json").write_text(json.dumps(collection))
    (tmp_path / "stac" / "items" / "2020" / "a.json").write_text(
        json.dumps(
            _item("a", "2020-07-01", {"B02": "../../data/a_B02.tif", "SCL": "https://x.org/a_SCL.tif"})
        )
    )
    (tmp_path / "stac" / "items" / "b.json").write_text(
        json.dumps(_item("b", "2020-08-01", {"B02": "/abs/b.tif"}))
    )
    return tmp_path / "stac"


def test_relative_hrefs_become_absolute_and_remote_ones_stay(tmp_path):
    collections, items = scan_catalog(_folder(tmp_path))
    assert [c["id"] for c in collections] == ["sentinel-2-l2a"]
    hrefs = {i["id"]: {k: a["href"] for k, a in i["assets"].items()} for i in items}
    assert hrefs["a"]["B02"] == str((tmp_path / "stac" / "data" / "a_B02.tif").resolve())
    assert hrefs["a"]["SCL"] == "https://x.org/a_SCL.tif" and hrefs["b"]["B02"] == "/abs/b.tif"


def test_the_folder_is_searched_through_a_stac_api_and_lacking_assets_are_named(tmp_path):
    with serve_catalog_folder(_folder(tmp_path)) as url:
        found = search_items(
            url,
            SearchRequest(
                collection="sentinel-2-l2a",
                bbox=(10.2, 50.2, 10.4, 50.4),
                datetime="2020-06-01T00:00:00Z/2020-07-15T00:00:00Z",
            ),
        )
    assert [item.id for item in found] == ["a"]
    items = [pystac.Item.from_dict(i) for i in scan_catalog(tmp_path / "stac")[1]]
    assert missing_assets(items, ["B02", "SCL"]) == [("b", "SCL")]


def test_a_folder_without_items_or_collections_is_refused(tmp_path):
    with pytest.raises(LocalCatalogError, match="does not exist"):
        scan_catalog(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(LocalCatalogError, match="0 Collection and 0 Item"):
        scan_catalog(tmp_path / "empty")
    folder = _folder(tmp_path)
    (folder / "collection.json").unlink()
    (folder / "other.json").write_text(
        json.dumps({**json.loads((folder / "items" / "b.json").read_text()), "type": "Collection", "id": "x"})
    )
    with pytest.raises(LocalCatalogError, match=r"sentinel-2-l2a'\] that have no Collection file"):
        scan_catalog(folder)
