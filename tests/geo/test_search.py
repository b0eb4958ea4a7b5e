"""Search through pystac-client against a real STAC API on loopback (rustac serve), with real PC items."""

import json

import pystac
import pytest

from permafusion.geo.search import EmptySearchError, SearchRequest, load_items, save_items, search_items
from permafusion.geo.stac_server import StacServerError, serve_local_catalog

KAMCHATKA = (150.0, 50.0, 180.0, 70.0)
DAY = "2019-01-01T00:00:00Z/2019-01-01T23:59:59Z"


@pytest.fixture
def pc_catalog(stac_fixtures, tmp_path):
    """PC sentinel-2-l2a items (unchanged) and their collection, as files rustac can serve."""
    items = [
        json.loads(p.read_text())
        for p in sorted((stac_fixtures / "planetary-computer/sentinel-2-l2a").glob("*.json"))
    ]
    (tmp_path / "items.json").write_text(json.dumps({"type": "FeatureCollection", "features": items}))
    collection = json.loads((stac_fixtures / "collections/pc_sentinel-2-l2a.collection.json").read_text())
    collection["links"] = []
    (tmp_path / "collection.json").write_text(json.dumps(collection))
    return [tmp_path / "collection.json", tmp_path / "items.json"]


def test_search_pages_through_all_matching_items(pc_catalog):
    with serve_local_catalog(pc_catalog) as url:
        items = search_items(url, SearchRequest("sentinel-2-l2a", KAMCHATKA, DAY, page_size=2))
    assert len(items) == 5  # the five 2019-01-01 tiles of the Kamchatka/Chukotka pass, over 3 pages
    assert {it.properties["s2:mgrs_tile"] for it in items} == {"60VUK", "59VPE", "59VNF", "59UNV", "58VFJ"}
    assert all(it.collection_id == "sentinel-2-l2a" for it in items)


def test_cloud_and_geometry_filters_refine_client_side(pc_catalog):
    with serve_local_catalog(pc_catalog) as url:
        clear = search_items(url, SearchRequest("sentinel-2-l2a", KAMCHATKA, DAY, max_cloud=60))
        with pytest.raises(EmptySearchError, match="raise `optical.max_cloud`"):
            search_items(url, SearchRequest("sentinel-2-l2a", KAMCHATKA, DAY, max_cloud=0.01))
        with pytest.raises(EmptySearchError, match="widen `bbox` or the period"):
            search_items(url, SearchRequest("sentinel-2-l2a", (0.0, 0.0, 1.0, 1.0), DAY))
    assert 0 < len(clear) < 5
    assert all(it.properties["eo:cloud_cover"] <= 60 for it in clear)


def test_saved_item_lists_are_unsigned_and_round_trip(pc_catalog, tmp_path):
    with serve_local_catalog(pc_catalog) as url:
        items = search_items(url, SearchRequest("sentinel-2-l2a", KAMCHATKA, DAY))
    href = items[0].assets["B02"].href
    items[0].assets["B02"].href = href + "?st=2026-11-21&se=2026-11-22&sig=SECRET"
    save_items(items, tmp_path / "optical.json")
    text = (tmp_path / "optical.json").read_text()
    assert "sig=" not in text and "SECRET" not in text
    assert "127.0.0.1" not in text  # links to the search's server, gone after the search, are dropped
    loaded = load_items(tmp_path / "optical.json")
    loaded[0].to_dict()  # serialises without fetching any catalog
    assert [it.id for it in loaded] == [it.id for it in items]
    assert loaded[0].assets["B02"].extra_fields["proj:shape"] == [10980, 10980]


def test_corrupt_item_list_names_the_file(tmp_path):
    (tmp_path / "sar.json").write_text("{not json")
    with pytest.raises(ValueError, match="sar.json is unreadable"):
        load_items(tmp_path / "sar.json")


def test_server_reports_missing_catalog_files(tmp_path):
    with (
        pytest.raises(StacServerError, match="does not exist"),
        serve_local_catalog([tmp_path / "none.json"]),
    ):
        pass


def test_server_stops_after_the_search(pc_catalog):
    import urllib.error
    import urllib.request

    with serve_local_catalog(pc_catalog) as url:
        assert pystac.Catalog.from_dict(json.loads(urllib.request.urlopen(url).read())).id
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(url, timeout=2)
