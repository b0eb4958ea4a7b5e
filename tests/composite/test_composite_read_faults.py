"""COG reads over HTTP through a fault-injecting server: GDAL retries, expired tokens, skipped scenes."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from faults import EXPIRED_TOKEN, TRUNCATE, fault_server, hang, rule, status
from test_composite_read import GRID, s1_item

from permafusion.composite import AssetReadError, SarSettings, build_sar_composite
from permafusion.composite import blocks as blocks_module
from permafusion.composite import read as read_module
from permafusion.composite.read import drop_unreadable
from permafusion.geo.signing import forget_cached_token

MONTH = ["2024-01"]
SETTINGS = SarSettings(speckle_filter="none", chunksize=16)


@pytest.fixture(autouse=True)
def fast_gdal_retries(monkeypatch):
    """The shipped GDAL settings, with short delays so that a test of retries takes a second, not ten."""
    env = read_module.GDAL_ENV.updated(
        always={"GDAL_HTTP_MAX_RETRY": "3", "GDAL_HTTP_RETRY_DELAY": "0.1", "GDAL_HTTP_TIMEOUT": "1"}
    )
    monkeypatch.setattr(read_module, "GDAL_ENV", env)


@pytest.fixture(params=["lattice", "warp"])
def read_path(request, monkeypatch):
    """Both read paths: windows of on-lattice files, and stackstac's warp (every item forced to it)."""
    if request.param == "warp":
        monkeypatch.setattr(blocks_module, "placement", lambda item, key, grid: None)
    return request.param


@pytest.fixture
def scenes(tmp_path):
    """Three Sentinel-1 scenes in January as local COGs, and the composite read straight from disk."""
    rng = np.random.default_rng(3)
    items = [
        s1_item(tmp_path, f"s1-{day}", datetime(2024, 1, day, tzinfo=UTC), 51, a, a / 4)
        for day, a in ((5, rng.uniform(0.01, 0.5, (30, 30))), (17, rng.uniform(0.01, 0.5, (30, 30))))
    ]
    flat = np.full((30, 30), 0.2)
    items.append(s1_item(tmp_path, "s1-29", datetime(2024, 1, 29, tzinfo=UTC), 51, flat, flat / 4))
    expected = build_sar_composite(items, grid=GRID, months=MONTH, settings=SETTINGS)
    return tmp_path, items, expected


def over_http(items, base_url):
    """Copies of ``items`` whose asset hrefs point at ``base_url`` instead of the local folder."""
    copies = [item.clone() for item in items]
    for item in copies:
        for asset in item.assets.values():
            asset.href = f"{base_url}/{Path(asset.href).name}"
    return copies


def no_secret(caplog, *texts):
    for text in (caplog.text, *texts):
        assert "sig=" not in text and "SECRET" not in text


def test_reads_over_http_match_local_reads(read_path, scenes):
    root, items, expected = scenes
    with fault_server(root=root) as server:
        ds = build_sar_composite(over_http(items, server.url), grid=GRID, months=MONTH, settings=SETTINGS)
    np.testing.assert_array_equal(ds.backscatter.values, expected.backscatter.values)
    assert 206 in server.statuses()  # GDAL read with Range requests


@pytest.mark.parametrize("fault", [status(503), status(429, retry_after=0.1), status(500), status(502)])
def test_gdal_retries_transient_http_errors(read_path, scenes, fault):
    root, items, expected = scenes
    rules = [rule(fault, path="s1-17-vv.tif", times={1, 2})]
    with fault_server(root=root, rules=rules) as server:
        ds = build_sar_composite(over_http(items, server.url), grid=GRID, months=MONTH, settings=SETTINGS)
    np.testing.assert_array_equal(ds.backscatter.values, expected.backscatter.values)
    assert server.statuses("s1-17-vv.tif")[:2] == [fault.status] * 2  # failed twice, then read


def test_gdal_settings_reach_gdal(scenes, monkeypatch):
    """Without GDAL_HTTP_MAX_RETRY the same fault is fatal: the retries above come from our settings."""
    monkeypatch.setattr(
        read_module, "GDAL_ENV", read_module.GDAL_ENV.updated(always={"GDAL_HTTP_MAX_RETRY": "0"})
    )
    root, items, _ = scenes
    rules = [rule(status(503), path="s1-17-vv.tif", times={1})]
    with (
        fault_server(root=root, rules=rules) as server,
        pytest.raises(AssetReadError, match="'vv' of item 's1-17'"),
    ):
        build_sar_composite(over_http(items, server.url), grid=GRID, months=MONTH, settings=SETTINGS)


def test_hang_past_the_timeout_is_retried(scenes):
    root, items, expected = scenes
    rules = [rule(hang(4.0), path="s1-5-vh.tif", times={1})]
    with fault_server(root=root, rules=rules) as server:
        ds = build_sar_composite(over_http(items, server.url), grid=GRID, months=MONTH, settings=SETTINGS)
    np.testing.assert_array_equal(ds.backscatter.values, expected.backscatter.values)
    assert server.statuses("s1-5-vh.tif")[0] == "hang"


def test_truncated_answer_is_retried_or_fails_loudly(scenes):
    root, items, expected = scenes
    rules = [rule(TRUNCATE, path="s1-29-vv.tif", times={1})]
    with fault_server(root=root, rules=rules) as server:
        ds = build_sar_composite(over_http(items, server.url), grid=GRID, months=MONTH, settings=SETTINGS)
    np.testing.assert_array_equal(ds.backscatter.values, expected.backscatter.values)
    assert server.statuses("s1-29-vv.tif")[0] == "truncate"


def test_missing_file_over_http_names_it_without_token(read_path, scenes, caplog):
    root, items, _ = scenes
    (root / "s1-17-vh.tif").unlink()

    def sign(item):
        for asset in item.assets.values():
            asset.href += "?se=2030-01-01&sig=SECRET"
        return item

    with fault_server(root=root) as server, pytest.raises(AssetReadError) as info:
        build_sar_composite(
            over_http(items, server.url), grid=GRID, months=MONTH, settings=SETTINGS, sign=sign
        )
    message = str(info.value)
    assert "'vh' of item 's1-17'" in message and "s1-17-vh.tif" in message
    no_secret(caplog, message, repr(info.value))


class TokenSigner:
    """Signs with an "expired" token the first time, a fresh one afterwards (as a renewed SAS token would)."""

    def __init__(self):
        self.calls = 0

    def __call__(self, item):
        self.calls += 1
        token = "sig=OLD-SECRET" if self.calls <= 3 else "sig=NEW-SECRET"
        for asset in item.assets.values():
            asset.href += f"?se=2030-01-01&{token}"
        return item


def test_expired_token_is_renewed_once_from_the_unsigned_href(read_path, scenes, caplog):
    caplog.set_level(logging.DEBUG)
    root, items, expected = scenes
    sign = TokenSigner()
    rules = [rule(EXPIRED_TOKEN, query="sig=OLD")]
    with fault_server(root=root, rules=rules) as server:
        ds = build_sar_composite(
            over_http(items, server.url), grid=GRID, months=MONTH, settings=SETTINGS, sign=sign
        )
    np.testing.assert_array_equal(ds.backscatter.values, expected.backscatter.values)
    # (dask hands the reader a copy of the signer, so its call count here stays at the first three)
    forbidden = [s.path for s in server.requests if s.status == 403]
    assert (
        sorted(forbidden) == sorted(set(forbidden)) and len(forbidden) == 6
    )  # one 403 per asset, then renewed
    assert all("NEW-SECRET" in s.query for s in server.requests if s.status in (200, 206))
    assert "signing it afresh" in caplog.text
    no_secret(caplog)
    assert all("?" not in a.href for it in items for a in it.assets.values())  # originals untouched


def test_token_that_stays_forbidden_fails_after_one_renewal(read_path, scenes, caplog):
    root, items, _ = scenes
    sign = TokenSigner()
    rules = [rule(EXPIRED_TOKEN)]
    with fault_server(root=root, rules=rules) as server, pytest.raises(AssetReadError) as info:
        build_sar_composite(
            over_http(items, server.url), grid=GRID, months=MONTH, settings=SETTINGS, sign=sign
        )
    assert "403" in str(info.value) and "of item 's1-" in str(info.value)
    assert len([s for s in server.requests if "NEW" in s.query]) <= 2  # one renewal, not a loop
    no_secret(caplog, str(info.value))


def test_failed_read_allowance_skips_counts_and_reports(scenes, caplog):
    root, items, _ = scenes
    rules = [rule(status(404), path="s1-17-vv.tif")]
    with fault_server(root=root, rules=rules) as server:
        remote = over_http(items, server.url)
        with pytest.raises(AssetReadError, match=r"1 of 3 scenes unreadable: s1-17 \('vv': .*404"):
            drop_unreadable(remote, assets=["vv", "vh"])  # default allowance 0: an error
        kept, skipped = drop_unreadable(remote, assets=["vv", "vh"], max_failed_read_fraction=0.34)
        assert [it.id for it in kept] == ["s1-5", "s1-29"]
        assert [(s.item_id, s.asset) for s in skipped] == [("s1-17", "vv")] and "?" not in skipped[0].href
        assert "1 of 3 scenes unreadable: s1-17" in caplog.text
        ds = build_sar_composite(kept, grid=GRID, months=MONTH, settings=SETTINGS)
        with pytest.raises(AssetReadError, match="more than `max_failed_read_fraction` \\(0.2\\)"):
            drop_unreadable(remote, assets=["vv", "vh"], max_failed_read_fraction=0.2)
    local_kept = [it for it in items if it.id != "s1-17"]
    expected = build_sar_composite(local_kept, grid=GRID, months=MONTH, settings=SETTINGS)
    np.testing.assert_array_equal(ds.backscatter.values, expected.backscatter.values)
    with pytest.raises(ValueError, match="max_failed_read_fraction"):
        drop_unreadable(items, assets=["vv"], max_failed_read_fraction=1.0)


def test_forget_cached_token_drops_only_that_container():
    sas = pytest.importorskip("planetary_computer.sas")
    key = "https://planetarycomputer.microsoft.com/api/sas/v1/token/sentinel1euwestrtc/sentinel1-grd-rtc"
    other = "https://planetarycomputer.microsoft.com/api/sas/v1/token/sentinel2l2a01/sentinel2-l2"
    sas.TOKEN_CACHE[key] = sas.TOKEN_CACHE[other] = object()
    try:
        href = "https://sentinel1euwestrtc.blob.core.windows.net/sentinel1-grd-rtc/GRD/2024/1/5/vv.tif?sig=x"
        assert forget_cached_token(href) == 1
        assert key not in sas.TOKEN_CACHE and other in sas.TOKEN_CACHE
    finally:
        sas.TOKEN_CACHE.pop(key, None)
        sas.TOKEN_CACHE.pop(other, None)
