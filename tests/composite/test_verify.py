"""Files checked against their items: size always, checksum when asked; decode errors name their cause."""

from __future__ import annotations

import hashlib
import os
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pystac
import pytest
import rasterio
from faults import fault_server
from rasterio.transform import from_origin
from test_composite_read import GRID, X0, Y0, s1_item

from permafusion.composite import AssetReadError, SarSettings, build_sar_composite
from permafusion.composite.job import checked_items, missing_assets
from permafusion.composite.verify import check_file, expected_checksum, verify_items

MONTH = ["2024-01"]
WEST_NORTH = (X0, Y0)


def _scene(tmp: Path, name: str = "s1") -> pystac.Item:
    rng = np.random.default_rng(0)
    vv, vh = (rng.uniform(0.01, 0.2, (24, 24)).astype(np.float32) for _ in range(2))
    item = s1_item(tmp, name, datetime(2024, 1, 5, tzinfo=UTC), 17, vv, vh)
    for asset in item.assets.values():
        data = Path(asset.href).read_bytes()
        asset.extra_fields["file:size"] = len(data)
        asset.extra_fields["file:checksum"] = hashlib.md5(data).hexdigest()  # the bare form PC uses
    return item


def _overwrite(path: str, offset_from_end: int, data: bytes) -> None:
    blob = bytearray(Path(path).read_bytes())
    blob[len(blob) - offset_from_end : len(blob) - offset_from_end + len(data)] = data
    Path(path).write_bytes(bytes(blob))


def test_checksum_forms() -> None:
    digest = hashlib.sha256(b"x").hexdigest()
    assert expected_checksum("1220" + digest) == ("sha256", digest)
    assert expected_checksum("93EE5E2D4AA3115267E05AE48236911C") == (
        "md5",
        "93ee5e2d4aa3115267e05ae48236911c",
    )
    assert expected_checksum("zz") is None


def test_a_file_of_another_size_is_refused_locally_and_over_http(tmp_path: Path) -> None:
    item = _scene(tmp_path)
    href = item.assets["vv"].href
    assert check_file(href, size=item.assets["vv"].extra_fields["file:size"], checksum=None) is None
    Path(href).write_bytes(Path(href).read_bytes()[:-100])  # cut short
    problem = check_file(href, size=item.assets["vv"].extra_fields["file:size"], checksum=None)
    assert problem is not None and "file:size" in problem
    with fault_server(root=tmp_path) as server:
        url = f"{server.url}/{Path(href).name}"
        remote = check_file(url, size=item.assets["vv"].extra_fields["file:size"], checksum=None)
    assert remote is not None and "file:size" in remote


def test_bytes_overwritten_in_place_are_caught_by_the_checksum(tmp_path: Path) -> None:
    item = _scene(tmp_path)
    asset = item.assets["vh"]
    _overwrite(asset.href, 200, os.urandom(50))  # same size: only the checksum sees it
    size, checksum = asset.extra_fields["file:size"], asset.extra_fields["file:checksum"]
    assert check_file(asset.href, size=size, checksum=None) is None
    problem = check_file(asset.href, size=size, checksum=checksum)
    assert problem is not None and "file:checksum" in problem
    failed = verify_items([item], assets=["vv", "vh"], mode="checksum")
    assert failed[0].item_id == "s1" and failed[0].asset == "vh"
    assert verify_items([item], assets=["vv", "vh"], mode="size") == {}


def test_incomplete_scenes_are_listed_and_skipped_within_the_allowance(tmp_path: Path, caplog) -> None:
    good = [_scene(tmp_path, f"s1-{i}") for i in range(3)]
    lacking = _scene(tmp_path, "s1-novh")
    del lacking.assets["vh"]
    assert "no asset 'vh'" in missing_assets([lacking], ["vv", "vh"])[0].error
    kept = checked_items(
        [*good, lacking],
        assets=["vv", "vh"],
        sign=None,
        verify="size",
        max_failed_read_fraction=0.3,
        threads=2,
    )
    assert [item.id for item in kept] == ["s1-0", "s1-1", "s1-2"]
    assert "1 of 4 scenes incomplete or not matching their items: s1-novh" in caplog.text
    with pytest.raises(AssetReadError, match=r"s1-novh \('vh': the item has no asset 'vh'"):
        checked_items(
            [*good, lacking],
            assets=["vv", "vh"],
            sign=None,
            verify="size",
            max_failed_read_fraction=0.0,
            threads=2,
        )


def test_a_tile_that_does_not_decode_names_the_cause(tmp_path: Path) -> None:
    item = _scene(tmp_path)
    data = np.random.default_rng(1).uniform(0.01, 0.2, (128, 128)).astype(np.float32)  # one tile
    href = str(tmp_path / "garbled-vv.tif")
    profile = {
        "driver": "GTiff",
        "height": 128,
        "width": 128,
        "count": 1,
        "dtype": "float32",
        "tiled": True,
        "blockxsize": 128,
        "blockysize": 128,
        "compress": "lzw",
        "nodata": -32768.0,
    }
    with rasterio.open(
        href, "w", crs=f"EPSG:{GRID.epsg}", transform=from_origin(*WEST_NORTH, 10, 10), **profile
    ) as dataset:
        dataset.write(data, 1)
    size = Path(href).stat().st_size
    garbage = np.random.default_rng(7).integers(0, 256, 1000, dtype=np.uint8).tobytes()
    _overwrite(href, size // 2, garbage)  # garble the tile's compressed bytes, same size
    item.assets["vv"].href = href
    item.properties["proj:shape"] = [128, 128]  # the item says what the file is
    item.assets["vh"].href = href
    with pytest.raises(AssetReadError) as error:
        build_sar_composite([item], grid=GRID, months=MONTH, settings=SarSettings())
    message = str(error.value)
    assert "See previous exception" not in message and "of item 's1'" in message
    assert "TIFFReadEncodedTile" in message or "IReadBlock" in message, message
