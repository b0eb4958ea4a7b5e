"""The block engine: lattice reads equal the warp, streams equal memory, stencils equal whole images."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import numpy as np
import pytest
import zarr
from test_composite_read import EPSG, GRID, X0, Y0, s1_item, s2_item
from zarr.codecs import BloscCodec

from permafusion.composite import (
    AssetReadError,
    OpticalSettings,
    SarSettings,
    build_optical_composite,
    build_sar_composite,
    open_composite,
)
from permafusion.composite import blocks as blocks_module
from permafusion.composite import lattice as lattice_module
from permafusion.composite.blocks import BlockReader, RowStencil, reduce_by_blocks
from permafusion.composite.lattice import Placement, _nearest, placement, placement_of
from permafusion.composite.sar import speckle_filter_month
from permafusion.geo.grid import GridSpec

#: 28 x 28 pixels inside the 30 x 30 test files: two rows and columns of 16-pixel blocks, the last short.
WIDE = GridSpec(EPSG, (X0 + 10, Y0 - 290, X0 + 290, Y0 - 10), 10.0)


@pytest.mark.parametrize(("scale", "row_start", "col_start"), [(2, 0, 0), (2, 1, 1), (3, 2, 1), (6, 5, 0)])
@pytest.mark.parametrize("width", [7, 8])
def test_nearest_upsampling_takes_the_asset_pixel_each_grid_pixel_lies_in(scale, row_start, col_start, width):
    rng = np.random.default_rng(scale)
    band = rng.integers(0, 65535, (9, 12), dtype=np.uint16)
    values = band[1:, 2:]  # a window of a row of tiles: rows not contiguous
    block = np.zeros((2, 11, width + 3), np.uint16)
    out = block[1, :, 1 : 1 + width]  # a part of a block's plane
    _nearest(values, scale, row_start, col_start, out)
    rows, cols = (row_start + np.arange(11)) // scale, (col_start + np.arange(width)) // scale
    np.testing.assert_array_equal(out, values[rows][:, cols])
    assert not block[0].any() and not block[1, :, 0].any() and not block[1, :, 1 + width :].any()


def test_placement_reads_the_lattice_from_metadata(tmp_path):
    dn10, dn20 = np.full((30, 30), 1500), np.full((15, 15), 2500)
    item = s2_item(
        tmp_path, "s2", datetime(2023, 7, 3, tzinfo=UTC), "05.09", dn10, dn20, np.full((15, 15), 4)
    )
    # GRID starts 30 m east and 10 m south of the files: pixel (0, 0) is file pixel (1, 3) at 10 m
    assert placement(item, "B02", GRID) == Placement(scale=1, row0=1, col0=3)
    assert placement(item, "B11", GRID) == Placement(scale=2, row0=1, col0=3)
    assert placement_of((10.0, 0.0, X0 + 5, 0.0, -10.0, Y0), GRID) is None  # half a pixel off
    assert placement_of((15.0, 0.0, X0, 0.0, -15.0, Y0), GRID) is None  # not a whole multiple
    assert placement_of((10.0, 0.1, X0, 0.0, -10.0, Y0), GRID) is None  # rotated
    other_zone = GridSpec(EPSG + 1, GRID.bounds, 10.0)
    assert placement(item, "B02", other_zone) is None


def _warp_everything(monkeypatch):
    monkeypatch.setattr(blocks_module, "placement", lambda item, key, grid: None)


#: 27 x 27 pixels 20 m into the files: on the 20 m lattice, so whole 16-pixel blocks take the broadcast path.
ON_20M = GridSpec(EPSG, (X0 + 20, Y0 - 290, X0 + 290, Y0 - 20), 10.0)
#: 28 x 28 pixels from the files' corner: with files of 16 px tiles, rows of 16 px blocks lie in rows of
#: 20 m tiles (32 grid px), which are read whole and kept for the next row of blocks.
AT_CORNER = GridSpec(EPSG, (X0, Y0 - 280, X0 + 280, Y0), 10.0)
#: 24 x 24 pixels 3 rows and 5 columns into files of 16 px tiles: blocks start 13 and 11 px in, on the tiles.
OFF_THE_TILES = GridSpec(EPSG, (X0 + 50, Y0 - 270, X0 + 290, Y0 - 30), 10.0)


@pytest.mark.parametrize(
    ("grid", "tile", "budget_mb", "banded", "origin"),
    [
        (WIDE, None, 512, [0], (0, 0)),
        (ON_20M, None, 512, [0], (0, 0)),
        (AT_CORNER, 16, 512, [3 * 3], (0, 0)),
        (AT_CORNER, 16, 0.002, [5], (0, 0)),  # rows of tiles only while they fit in gdal_cache_mb (in order)
        (OFF_THE_TILES, 16, 512, [3 * 3], (13, 11)),
    ],
    ids=["off-20m-lattice", "on-20m-lattice", "rows-of-20m-tiles", "some-rows-of-20m-tiles", "off-the-tiles"],
)
def test_optical_lattice_reads_equal_the_warp(tmp_path, monkeypatch, grid, tile, budget_mb, banded, origin):
    from permafusion.composite import read

    monkeypatch.setattr(read, "GDAL_CACHE_MB", budget_mb)
    rng = np.random.default_rng(5)
    items = []
    for day, baseline in ((3, "05.09"), (9, "05.09"), (20, "02.14")):
        dn10 = rng.integers(500, 4000, (30, 30))
        dn20 = rng.integers(500, 4000, (15, 15))
        scl = rng.choice([4, 5, 8, 9, 3], (15, 15))
        dn10[0, :5] = 0  # nodata
        when = datetime(2023, 1, day, tzinfo=UTC)
        items.append(s2_item(tmp_path, f"s2-{day}", when, baseline, dn10, dn20, scl, tile))
    band_reads = []
    read_band = lattice_module.LatticeReader._from_band
    monkeypatch.setattr(
        lattice_module.LatticeReader, "_from_band", lambda *a: band_reads.append(a[2:4]) or read_band(*a)
    )
    plans = []
    plan = lattice_module.LatticeReader.plan
    monkeypatch.setattr(
        lattice_module.LatticeReader, "plan", lambda *a: plans.append((a[4], plan(*a))) or plans[-1][1]
    )
    settings = OpticalSettings(chunksize=16)
    direct = build_optical_composite(items, grid=grid, months=["2023-01"], settings=settings, threads=2)
    # B11, B12 and SCL of 3 items: each of the 4 blocks reads them from their one row of tiles
    assert len(set(band_reads)) in banded and len(band_reads) == 4 * len(set(band_reads))
    assert plans[0][0] == origin
    if tile is not None and budget_mb == 512:  # the blocks on the tiles: none is decoded twice
        assert plans[0][1] == 0
    if origin != (0, 0):  # rows of blocks off the store's chunks: streamed all the same
        store = tmp_path / "optical.zarr"
        build_optical_composite(items, grid=grid, months=["2023-01"], settings=settings, threads=2, out=store)
        np.testing.assert_array_equal(open_composite(store).reflectance.values, direct.reflectance.values)
    _warp_everything(monkeypatch)
    warped = build_optical_composite(items, grid=grid, months=["2023-01"], settings=settings)
    np.testing.assert_array_equal(direct.reflectance.values, warped.reflectance.values)
    np.testing.assert_array_equal(direct.valid_count.values, warped.valid_count.values)
    assert (direct.valid_count.values > 0).any() and (direct.valid_count.values < 3).any()


def test_items_read_from_windows_and_through_the_warp_mix_in_one_block(tmp_path, monkeypatch):
    rng = np.random.default_rng(8)
    items = []
    for day in (3, 9, 20):
        dn10, dn20 = rng.integers(500, 4000, (30, 30)), rng.integers(500, 4000, (15, 15))
        scl = rng.choice([4, 5, 8, 3], (15, 15))
        when = datetime(2023, 1, day, tzinfo=UTC)
        items.append(s2_item(tmp_path, f"s2-{day}", when, "05.09", dn10, dn20, scl))
    on_lattice = blocks_module.placement

    def all_but_the_second(item, key, grid):  # read from windows; the second item through the warp
        return None if item.id == "s2-9" else on_lattice(item, key, grid)

    monkeypatch.setattr(blocks_module, "placement", all_but_the_second)
    reader = BlockReader(items, grid=WIDE, assets=["B02", "B11", "SCL"], dtype=np.uint16, chunksize=16)
    assert reader.direct == [0, 2] and reader.warped == [1]
    settings = OpticalSettings(chunksize=16)
    mixed = build_optical_composite(items, grid=WIDE, months=["2023-01"], settings=settings, threads=2)
    _warp_everything(monkeypatch)
    warped = build_optical_composite(items, grid=WIDE, months=["2023-01"], settings=settings)
    np.testing.assert_array_equal(mixed.reflectance.values, warped.reflectance.values)
    np.testing.assert_array_equal(mixed.valid_count.values, warped.valid_count.values)


def test_sar_lattice_reads_and_row_stencil_equal_the_warp_in_one_block(sar_items, monkeypatch):
    items, _, _ = sar_items
    blockwise = build_sar_composite(
        items, grid=WIDE, months=["2024-01"], settings=SarSettings(window=5, chunksize=16), threads=2
    )
    _warp_everything(monkeypatch)
    whole = build_sar_composite(items, grid=WIDE, months=["2024-01"], settings=SarSettings(window=5))
    np.testing.assert_allclose(blockwise.backscatter.values, whole.backscatter.values, rtol=0, atol=1e-5)
    np.testing.assert_array_equal(blockwise.valid_count.values, whole.valid_count.values)


def _reduce_planes(planes, emit, *, rows_kept, origin=(0, 0)):
    """:func:`reduce_by_blocks` over 8 px blocks of (plane, y, x) ``planes``, each block's work its slice."""

    def work(rows, cols, out):
        out[...] = planes[:, rows, cols]

    reduce_by_blocks(
        planes.shape[1:],
        size=8,
        n_out=len(planes),
        work=work,
        emit=emit,
        rows_kept=rows_kept,
        threads=2,
        origin=origin,
    )


def test_block_edges_start_on_the_origin_given():
    assert blocks_module.edges(37, 8) == [0, 8, 16, 24, 32, 37]
    assert blocks_module.edges(37, 8, 3) == [0, 3, 11, 19, 27, 35, 37]
    assert blocks_module.edges(5, 8, 3) == [0, 3, 5]
    assert list(blocks_module.blocks((5, 12), 8, (3, 0))) == [
        (slice(0, 3), slice(0, 8)),
        (slice(0, 3), slice(8, 12)),
        (slice(3, 5), slice(0, 8)),
        (slice(3, 5), slice(8, 12)),
    ]
    with pytest.raises(ValueError, match=r"origin must lie in \[0, 8\)"):
        blocks_module.edges(37, 8, 8)


@pytest.mark.parametrize("origin", [(0, 0), (2, 5)], ids=["on-the-corner", "first-row-below-the-halo"])
def test_row_stencil_equals_filtering_the_whole_image(origin):
    rng = np.random.default_rng(2)
    mean = rng.gamma(4.0, 0.05, (2, 37, 45)).astype(np.float32)
    count = rng.integers(0, 4, (37, 45)).astype(np.float32)
    mean[:, count == 0] = np.nan
    planes = np.concatenate([mean, count[None]])

    def finish(rows):
        return np.concatenate(
            [speckle_filter_month(rows[:2], rows[2], window=7, enl=4.4, columns=8), rows[2:]]
        )

    got = np.full(planes.shape, -1.0, np.float32)

    def emit(rows, row):
        got[:, rows] = row

    stencil = RowStencil(3, finish, emit)
    _reduce_planes(planes, stencil, rows_kept=RowStencil.ROWS_KEPT, origin=origin)
    stencil.close()
    expected = finish(planes)
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=0)
    assert np.array_equal(np.isnan(got), np.isnan(expected))


@pytest.mark.parametrize("rows_kept", [0, 1, 2])
@pytest.mark.parametrize(
    ("origin", "starts"), [((0, 0), [0, 8, 16, 24, 32]), ((3, 6), [0, 3, 11, 19, 27, 35])]
)
def test_reduce_by_blocks_emits_every_row_in_order(rows_kept, origin, starts):
    planes = np.random.default_rng(3).random((2, 37, 45)).astype(np.float32)
    got, order = np.full(planes.shape, -1.0, np.float32), []

    def emit(rows, row):
        got[:, rows] = row  # a sink that copies
        order.append(rows.start)

    _reduce_planes(planes, emit, rows_kept=rows_kept, origin=origin)
    np.testing.assert_array_equal(got, planes)
    assert order == starts


def test_reduce_by_blocks_hands_the_result_arrays_round():
    """A block's result memory is used again once copied into its row: no fresh memory per block."""
    arrays = {}  # by address, kept alive so that no address is used again by new memory

    def work(rows, cols, out):
        assert out.flags.c_contiguous and out.shape == (1, rows.stop - rows.start, cols.stop - cols.start)
        arrays[out.__array_interface__["data"][0]] = out
        out[...] = rows.start + cols.start

    got = np.empty((1, 64, 64), np.float32)

    def emit(rows, row):
        got[:, rows] = row

    # 64 blocks, at most 2 * 2 + 8 in flight
    reduce_by_blocks((64, 64), size=8, n_out=1, work=work, emit=emit, rows_kept=0, threads=2)
    assert len(arrays) <= 2 * 2 + 8 + 1
    np.testing.assert_array_equal(got[0, 8:16, 24:32], 8 + 24)


def test_streamed_store_equals_memory_and_failures_leave_no_store(sar_items, tmp_path):
    items, _, _ = sar_items
    settings = SarSettings(chunksize=16)
    months = ["2023-12", "2024-01", "2024-03"]  # an empty month first
    in_memory = build_sar_composite(items, grid=WIDE, months=months, settings=settings)
    path = tmp_path / "sar.zarr"
    streamed = build_sar_composite(items, grid=WIDE, months=months, settings=settings, out=path)
    reopened = open_composite(path)
    for ds in (streamed, reopened):
        np.testing.assert_array_equal(ds.backscatter.values, in_memory.backscatter.values)
        np.testing.assert_array_equal(ds.valid_count.values, in_memory.valid_count.values)
        assert ds.attrs["transform"] == in_memory.attrs["transform"] and ds.rio.crs.to_epsg() == EPSG
    (tmp_path / "s1-a-vh.tif").write_bytes(b"II*\x00 not a tiff")
    with pytest.raises(AssetReadError):
        build_sar_composite(items, grid=WIDE, months=months, settings=settings, out=path)
    np.testing.assert_array_equal(open_composite(path).backscatter.values, in_memory.backscatter.values)
    assert sorted(p.name for p in tmp_path.glob("sar.zarr*")) == ["sar.zarr"]  # no partial store left
    assert isinstance(zarr.open_array(path / "backscatter", mode="r").compressors[0], BloscCodec)


@pytest.mark.parametrize(
    ("field", "value"),
    [("proj:transform", [10.0, 0.0, X0 + 20, 0.0, -10.0, Y0, 0.0, 0.0, 1.0]), ("proj:shape", [30, 31])],
)
@pytest.mark.parametrize("which", [0, 1], ids=["opened-to-plan", "opened-by-a-block"])
def test_file_off_its_metadata_is_an_error(tmp_path, field, value, which):
    a = np.full((30, 30), 0.1)
    items = [s1_item(tmp_path, f"s1-{day}", datetime(2024, 1, day, tzinfo=UTC), 51, a, a) for day in (5, 9)]
    items[which].properties[field] = value
    with pytest.raises(AssetReadError, match="does not lie where its STAC metadata says"):
        build_sar_composite(items, grid=GRID, months=["2024-01"], settings=SarSettings())


def test_file_laid_out_otherwise_than_its_keys_first_is_read_through_the_cache(tmp_path, monkeypatch):
    rng = np.random.default_rng(9)
    items = []
    for day, tile in ((3, 16), (9, 16), (20, 32)):
        dn10, dn20 = rng.integers(500, 4000, (30, 30)), rng.integers(500, 4000, (15, 15))
        scl = rng.choice([4, 5, 8, 3], (15, 15))
        items.append(
            s2_item(tmp_path, f"s2-{day}", datetime(2023, 1, day, tzinfo=UTC), "05.09", dn10, dn20, scl, tile)
        )
    band_reads = []
    read_band = lattice_module.LatticeReader._from_band
    monkeypatch.setattr(
        lattice_module.LatticeReader, "_from_band", lambda *a: band_reads.append(a[2:4]) or read_band(*a)
    )
    settings = OpticalSettings(chunksize=16)
    direct = build_optical_composite(items, grid=AT_CORNER, months=["2023-01"], settings=settings, threads=2)
    # planned from the first item's files (16 px tiles): the third's 20 m bands, of 32 px tiles, are not
    # read by rows of 16 px tiles
    assert {index for index, _ in band_reads} == {0, 1}
    _warp_everything(monkeypatch)
    warped = build_optical_composite(items, grid=AT_CORNER, months=["2023-01"], settings=settings)
    np.testing.assert_array_equal(direct.reflectance.values, warped.reflectance.values)
    np.testing.assert_array_equal(direct.valid_count.values, warped.valid_count.values)


def _with_orbit(item, state):
    item.properties["sat:orbit_state"] = state
    return item


def test_separate_orbits_composite_each_direction_from_one_read(sar_items, tmp_path):
    items, _, _ = sar_items
    states = {"s1-a": "ascending", "s1-b": "descending", "s1-c": "ascending"}
    items = [_with_orbit(item, states[item.id]) for item in items]
    settings = SarSettings(chunksize=16, separate_orbits=True)
    both = build_sar_composite(items, grid=WIDE, months=["2024-01"], settings=settings, threads=2)
    plain = build_sar_composite(items, grid=WIDE, months=["2024-01"], settings=SarSettings(chunksize=16))
    np.testing.assert_array_equal(both.backscatter.values, plain.backscatter.values)
    for state in ("ascending", "descending"):
        alone = [item for item in items if states[item.id] == state]
        expected = build_sar_composite(
            alone, grid=WIDE, months=["2024-01"], settings=SarSettings(chunksize=16)
        )
        np.testing.assert_array_equal(both[f"backscatter_{state}"].values, expected.backscatter.values)
        np.testing.assert_array_equal(both[f"valid_count_{state}"].values, expected.valid_count.values)
    streamed = build_sar_composite(
        items, grid=WIDE, months=["2023-12", "2024-01"], settings=settings, out=tmp_path / "s.zarr"
    )
    np.testing.assert_array_equal(
        streamed.backscatter_descending.values[1], both.backscatter_descending.values[0]
    )
    assert (streamed.valid_count_ascending.values[0] == 0).all()  # the empty month


def test_separate_orbits_need_the_orbit_state(sar_items):
    items, _, _ = sar_items
    with pytest.raises(ValueError, match="sat:orbit_state None.*use `both`"):
        build_sar_composite(items, grid=WIDE, months=["2024-01"], settings=SarSettings(separate_orbits=True))


@pytest.mark.parametrize(
    ("tile", "offset", "shared", "per_block"),
    [
        (512, 0, False, 1),  # Sentinel-1 / 10 m tiles on the blocks: no tile is read twice
        (1024, 0, True, 1),  # 20 m tiles of 512: each spans two rows of blocks
        (512, 100, True, 2),  # the grid off the tiles
        (256, 0, False, 2),  # small tiles, whole ones in each block
        (256, 128, True, 3),
    ],
)
def test_which_tiles_blocks_of_512_share(tile, offset, shared, per_block):
    assert lattice_module._shared(512, tile, offset) is shared
    assert lattice_module._tiles_per_block(512, tile, offset) == per_block


def test_prepare_fits_the_gdal_cache_to_the_tiles(sar_items, monkeypatch, caplog):
    from permafusion.composite import read

    items, _, _ = sar_items
    monkeypatch.setattr(read, "GDAL_CACHE_MB", 512)
    assert read.gdal_env(0).read.options["GDAL_CACHEMAX"] == read.MIN_GDAL_CACHE_MB * 2**20
    assert read.gdal_env(2**40).read.options["GDAL_CACHEMAX"] == 512 * 2**20
    reader = BlockReader(items, grid=WIDE, assets=["vv", "vh"], dtype=np.float32, chunksize=16)
    reader.prepare(threads=2)
    assert set(reader.lattice._handles) == {(0, "vv"), (0, "vh")}  # one file per asset key opened to plan
    # each small file is one strip of 30 rows, which rows of 16-pixel blocks share: a row of them
    tile_bytes = 30 * 30 * 4
    assert reader.lattice.plan(16, WIDE.shape[1], 2) == int(1.25 * len(items) * 2 * 2 * tile_bytes)
    assert reader.lattice.env.read.options["GDAL_CACHEMAX"] == read.MIN_GDAL_CACHE_MB * 2**20
    reader.close()

    monkeypatch.setattr(read, "GDAL_CACHE_MB", 0)  # less than the tiles need: said, not silent
    reader = BlockReader(items, grid=WIDE, assets=["vv"], dtype=np.float32, chunksize=16)
    with caplog.at_level(logging.WARNING, logger="permafusion.composite.blocks"):
        reader.prepare(threads=1)
    reader.close()
    assert "decoded twice" in caplog.text and "gdal_cache_mb" in caplog.text


def test_gdal_cache_setting_reaches_the_reads(monkeypatch):
    from permafusion.composite import read

    monkeypatch.setattr(read, "GDAL_ENV", read.GDAL_ENV)  # restored after the test
    read.set_gdal_cache(64)
    assert read.GDAL_ENV.read.options["GDAL_CACHEMAX"] == 64 * 2**20
    with pytest.raises(ValueError, match="gdal_cache_mb"):
        read.set_gdal_cache(8)
