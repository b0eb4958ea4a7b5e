"""Search through a fault-injecting proxy in front of ``rustac serve``: retries, timeouts, clear errors."""

from __future__ import annotations

import json
import logging
import time

import pytest
from faults import EXPIRED_TOKEN, TRUNCATE, fault_server, hang, rule, status

from permafusion.geo.http import RetryPolicy, redact, strip_signature, urllib3_retry
from permafusion.geo.search import SearchFailedError, SearchRequest, save_items, search_items
from permafusion.geo.stac_server import serve_local_catalog

KAMCHATKA = (150.0, 50.0, 180.0, 70.0)
DAY = "2019-01-01T00:00:00Z/2019-01-01T23:59:59Z"
FAST = {"timeout_s": 2.0, "retries": 3, "backoff_s": 0.01}


@pytest.fixture(scope="module")
def api(tmp_path_factory, stac_fixtures):
    """rustac serving the five PC sentinel-2-l2a items of 2019-01-01, for the whole module."""
    tmp = tmp_path_factory.mktemp("catalog")
    items = [
        json.loads(p.read_text())
        for p in sorted((stac_fixtures / "planetary-computer/sentinel-2-l2a").glob("*.json"))
    ]
    (tmp / "items.json").write_text(json.dumps({"type": "FeatureCollection", "features": items}))
    collection = json.loads((stac_fixtures / "collections/pc_sentinel-2-l2a.collection.json").read_text())
    collection["links"] = []
    (tmp / "collection.json").write_text(json.dumps(collection))
    with serve_local_catalog([tmp / "collection.json", tmp / "items.json"]) as url:
        yield url


REQUEST = SearchRequest("sentinel-2-l2a", KAMCHATKA, DAY, page_size=2)


def no_secret(caplog, *texts: str) -> None:
    for text in (caplog.text, *texts):
        assert "sig=" not in text and "SECRET" not in text


def test_proxy_passes_pages_through(api):
    with fault_server(upstream=api) as proxy:
        items = search_items(proxy.url, REQUEST, **FAST)
    assert len(items) == 5
    assert proxy.statuses("/search") == [200, 200, 200]  # three pages, all through the proxy


@pytest.mark.parametrize("code", [500, 502, 503, 504])
def test_search_post_is_retried_after_server_errors(api, code, caplog):
    rules = [rule(status(code), path="/search", method="POST", times={1, 2})]
    with fault_server(upstream=api, rules=rules) as proxy:
        items = search_items(proxy.url, REQUEST, **FAST)
    assert len(items) == 5
    assert proxy.statuses("/search")[:3] == [code, code, 200]


def test_second_page_failure_is_retried_too(api):
    rules = [rule(status(503), path="/search", times={2})]  # the first "next" page
    with fault_server(upstream=api, rules=rules) as proxy:
        items = search_items(proxy.url, REQUEST, **FAST)
    assert len(items) == 5 and proxy.statuses("/search") == [200, 503, 200, 200]


def test_429_waits_for_retry_after(api):
    rules = [rule(status(429, retry_after=1), path="/search", times={1})]
    with fault_server(upstream=api, rules=rules) as proxy:
        start = time.monotonic()
        items = search_items(proxy.url, REQUEST, timeout_s=2.0, retries=2, backoff_s=0.0)
        took = time.monotonic() - start
    assert len(items) == 5 and proxy.statuses("/search")[:2] == [429, 200]
    assert 0.9 <= took < 5


def test_retries_run_out_with_a_clear_error_and_no_file(api, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    out = tmp_path / "optical.json"
    rules = [rule(status(503), path="/search")]
    with fault_server(upstream=api, rules=rules) as proxy, pytest.raises(SearchFailedError) as info:
        save_items(search_items(proxy.url, REQUEST, **FAST), out)
    message = str(info.value)
    assert "answered 503 4 times for POST /search" in message
    assert "try again later or lower `search.page_size`" in message
    assert proxy.statuses("/search") == [503] * 4  # first try + 3 retries, then stop
    assert not out.exists() and not list(tmp_path.iterdir())
    no_secret(caplog, message)


def test_hanging_server_times_out_and_is_retried(api):
    rules = [rule(hang(3.0), path="/search", times={1})]
    with fault_server(upstream=api, rules=rules) as proxy:
        start = time.monotonic()
        items = search_items(proxy.url, REQUEST, timeout_s=0.5, retries=2, backoff_s=0.0)
        took = time.monotonic() - start
    assert len(items) == 5 and proxy.statuses("/search")[:2] == ["hang", 200]
    assert took < 3.0  # the client gave up on the hang after its timeout, not after the server's sleep


def test_always_hanging_server_stops_with_timeout_hint(api):
    rules = [rule(hang(2.0), path="/search")]
    hint = r"did not answer POST /search in 2 attempts.*timeout_s"
    with fault_server(upstream=api, rules=rules) as proxy, pytest.raises(SearchFailedError, match=hint):
        search_items(proxy.url, REQUEST, timeout_s=0.3, retries=1, backoff_s=0.0)


def test_truncated_answer_is_retried(api, caplog):
    rules = [rule(TRUNCATE, path="/search", times={1})]
    with fault_server(upstream=api, rules=rules) as proxy:
        items = search_items(proxy.url, REQUEST, **FAST)
    assert len(items) == 5 and proxy.statuses("/search")[:2] == ["truncate", 200]
    assert "answer cut short" in caplog.text


def test_client_errors_are_not_retried(api):
    rules = [rule(EXPIRED_TOKEN, path="/search"), rule(status(404), path="/nothing")]
    with fault_server(upstream=api, rules=rules) as proxy:
        with pytest.raises(
            SearchFailedError, match=r"refused POST /search with HTTP 403.*AuthenticationFailed"
        ):
            search_items(proxy.url, REQUEST, **FAST)
        assert proxy.statuses("/search") == [403]


def test_landing_page_failure_is_a_search_failure(api):
    rules = [rule(status(502), path="/", method="GET")]
    with (
        fault_server(upstream=api, rules=rules) as proxy,
        pytest.raises(SearchFailedError, match=r"answered 502 4 times for GET /"),
    ):
        search_items(proxy.url, REQUEST, **FAST)


def test_polygon_aoi_refines_client_side(api):
    # A triangle whose bbox holds all five tiles of the pass but whose area holds only the south-western two.
    corners = [[167.5, 53.0], [175.0, 53.0], [167.5, 60.0], [167.5, 53.0]]
    triangle = {"type": "Polygon", "coordinates": [corners]}
    with fault_server(upstream=api) as proxy:
        everything = search_items(proxy.url, REQUEST, **FAST)
        inside = search_items(
            proxy.url, SearchRequest("sentinel-2-l2a", KAMCHATKA, DAY, intersects=triangle), **FAST
        )
    import shapely.geometry

    shape = shapely.geometry.shape(triangle)
    expected = {it.id for it in everything if shapely.geometry.shape(it.geometry).intersects(shape)}
    assert {it.id for it in inside} == expected and 0 < len(expected) < 5


def test_orbit_state_must_be_a_known_value():
    with pytest.raises(ValueError, match="orbit_state"):
        SearchRequest("sentinel-1-rtc", KAMCHATKA, DAY, orbit_state="both")


def test_retry_policy_retries_post_and_honours_retry_after():
    retry = urllib3_retry(RetryPolicy(retries=5, backoff_s=0.5))
    assert retry.is_retry("POST", 503) and retry.is_retry("POST", 429) and not retry.is_retry("POST", 404)
    assert retry.respect_retry_after_header and retry.total == 5
    with pytest.raises(ValueError, match="retries"):
        RetryPolicy(retries=-1)


def test_redact_drops_query_strings():
    text = "Error opening '/vsicurl/https://acc.blob.core.windows.net/c/a.tif?st=1&se=2&sig=abc%3D': 403"
    assert redact(text) == "Error opening '/vsicurl/https://acc.blob.core.windows.net/c/a.tif': 403"
    assert redact("token sig=abc&se=2") == "token [redacted]&[redacted]"


def test_an_answer_that_is_not_json_is_retried_then_named(api, caplog):
    garbage = status(200, b"<html>Proxy login</html>")
    with fault_server(upstream=api, rules=[rule(garbage, path="/search", times={1})]) as proxy:
        assert len(search_items(proxy.url, REQUEST, **FAST)) == 5  # once: retried
    assert "answer is not JSON; retry 1 of 3" in caplog.text
    with (
        fault_server(upstream=api, rules=[rule(garbage, path="/search")]) as proxy,
        pytest.raises(SearchFailedError, match=r"answered POST /search 4 times with a body that is not"),
    ):
        search_items(proxy.url, REQUEST, **FAST)


def test_every_known_signature_form_is_redacted_and_stripped() -> None:
    s3 = (
        "https://bucket.s3.us-west-2.amazonaws.com/a/B04.tif?X-Amz-Algorithm=AWS4-HMAC-SHA256"
        "&X-Amz-Credential=AKIA%2F20240101&X-Amz-Date=20240101T000000Z&X-Amz-Expires=3600"
        "&X-Amz-SignedHeaders=host&X-Amz-Security-Token=SECRETTOKEN&X-Amz-Signature=SECRETSIG"
    )
    gcs = "https://storage.googleapis.com/b/a.tif?X-Goog-Algorithm=GOOG4&X-Goog-Signature=SECRETSIG"
    sas = "https://acc.blob.core.windows.net/c/a.tif?st=1&se=2&sp=r&sv=2021&sr=b&sig=SECRETSIG"
    for url in (s3, gcs, sas):
        assert "SECRET" not in redact(f"could not read {url}: 404")
        assert strip_signature(url) == url.split("?", 1)[0]
    # a stray field outside a URL, and a query an unsigned URL needs, are handled apart
    assert "SECRET" not in redact("header X-Amz-Security-Token=SECRETTOKEN sent")
    assert (
        strip_signature("https://example.org/tile?layer=dem&sig=SECRET")
        == "https://example.org/tile?layer=dem"
    )
    assert (
        strip_signature("https://example.org/tile?layer=dem&page=2")
        == "https://example.org/tile?layer=dem&page=2"
    )


def test_saved_items_hold_no_signature_anywhere(tmp_path, stac_fixtures) -> None:
    import pystac

    path = next((stac_fixtures / "planetary-computer/sentinel-2-l2a").glob("*.json"))
    item = pystac.Item.from_dict(json.loads(path.read_text()))
    signed = "X-Amz-Credential=AKIA&X-Amz-Security-Token=SECRETTOKEN&X-Amz-Signature=SECRETSIG"
    for asset in item.assets.values():
        asset.href += ("&" if "?" in asset.href else "?") + signed
        asset.extra_fields["alternate"] = {"s3": {"href": "s3://bucket/key.tif?" + signed}}
    item.add_link(pystac.Link("alternate", "https://example.org/item.json?sig=SECRETSIG"))
    out = tmp_path / "items.json"
    save_items(pystac.ItemCollection([item]), out)
    text = out.read_text()
    assert "SECRET" not in text and "X-Amz" not in text and "sig=" not in text
    assert "s3://bucket/key.tif" in text
