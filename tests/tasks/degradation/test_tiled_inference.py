"""A map predicted tile by tile, with context from the neighbours, equals the map predicted whole."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from permafusion.geo.grid import GridSpec
from permafusion.geo.tiles import Tile, context_tiles, zone_extent
from permafusion.tasks.degradation.context import ContextSource, gather_context, pixel_offset
from permafusion.tasks.degradation.models import PermaFusionNet
from permafusion.tasks.degradation.windows import Placement, lattice_starts, predict_windows

STATS = {
    "sar": {"mean": [-15.0, -20.0], "std": [3.0, 3.0]},
    "optical": {"mean": [0.1] * 6, "std": [0.05] * 6},
}
TILE, RES = 72, 10.0
WINDOW, OVERLAP = 32, 16


def _tiles() -> list[Tile]:
    """A 2 x 2 lattice of 72 px tiles, the last row and column clipped to 40 and 56 px."""
    tiles = []
    for i, width in enumerate((TILE, 56)):
        for j, height in enumerate((TILE, 40)):
            minx = 500000.0 + i * TILE * RES
            maxy = 4000000.0 - j * TILE * RES
            bounds = (minx, maxy - height * RES, minx + width * RES, maxy)
            tiles.append(Tile(f"32646_{i:04d}_{j:04d}", GridSpec(32646, bounds, RES)))
    return tiles


def _scene(shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Smooth random fields with a patch never observed (its windows are skipped)."""
    rng = np.random.default_rng(3)
    y, x = np.mgrid[0 : shape[0], 0 : shape[1]] / 20.0
    base = np.sin(x + rng.random()) * np.cos(y * 1.3)
    sar = (-15 + 3 * base + rng.normal(0, 0.5, (4, 2, *shape))).astype(np.float32)
    optical = (0.1 + 0.05 * base + rng.normal(0, 0.01, (4, 6, *shape))).astype(np.float32)
    sar[..., :56, -64:] = np.nan
    optical[..., :56, -64:] = np.nan
    return sar, optical


def _model() -> PermaFusionNet:
    torch.manual_seed(0)
    return PermaFusionNet(encoder_widths=(8, 16), lstm_hidden=(8,), gate_reduction=4).eval()


def _predict(model, sar, optical, placement=None):
    return predict_windows(
        model,
        STATS,
        sar,
        optical,
        placement=placement,
        window=WINDOW,
        overlap=OVERLAP,
        tta=True,
        gate_level=-1,
    )


def _tiled(model, sar, optical, *, with_context: bool):
    tiles = _tiles()
    extent = zone_extent(tiles[0], tiles)

    def source(tile: Tile) -> ContextSource:
        r, c = pixel_offset(tile.grid, extent)

        def read(rows: slice, cols: slice):
            window = (slice(r + rows.start, r + rows.stop), slice(c + cols.start, c + cols.stop))
            return sar[(..., *window)], optical[(..., *window)]

        return ContextSource(tile.grid, read)

    out = {name: np.full_like(a, np.nan) for name, a in _as_dict(_predict(model, sar, optical)).items()}
    for tile in tiles:
        neighbours = context_tiles(tile, tiles, margin_px=WINDOW) if with_context else []
        s, o, placement = gather_context(
            source(tile), [source(t) for t in neighbours], extent, margin=WINDOW, gap_fill={}
        )
        if not with_context:  # the tile alone is its own extent: mirrored at its borders
            placement = Placement.whole(tile.grid.shape)
        products = _as_dict(_predict(model, s, o, placement))
        r, c = pixel_offset(tile.grid, extent)
        h, w = tile.grid.shape
        for name, values in products.items():
            out[name][..., r : r + h, c : c + w] = values
    return out


def _as_dict(products) -> dict[str, np.ndarray]:
    return {
        "probabilities": products.probabilities,
        "sar_weight": products.sar_weight,
        "flip_information": products.flip_information,
    }


def test_tiled_prediction_equals_the_whole_and_shows_no_seam() -> None:
    model = _model()
    tiles = _tiles()
    extent = zone_extent(tiles[0], tiles)
    assert extent.shape == (TILE + 40, TILE + 56)
    sar, optical = _scene(extent.shape)
    whole = _as_dict(_predict(model, sar, optical))
    tiled = _tiled(model, sar, optical, with_context=True)
    for name in whole:
        np.testing.assert_allclose(tiled[name], whole[name], atol=2e-5, equal_nan=True, err_msg=name)
    # the unobserved corner is no data; everything else sums to one
    probs = whole["probabilities"]
    assert np.isnan(probs[:, :8, -8:]).all()
    observed = np.isfinite(probs).all(axis=0)
    assert observed.mean() > 0.8
    np.testing.assert_allclose(probs.sum(axis=0)[observed], 1.0, atol=1e-5)
    # a control: tiles predicted alone (mirrored at their own borders) differ along the tile borders
    alone = _tiled(model, sar, optical, with_context=False)
    seam = np.nanmax(np.abs(alone["probabilities"] - probs)[:, :, TILE - 1 : TILE + 1])
    assert seam > 100 * 2e-5


def test_lattice_windows_meet_the_range_and_skip_nothing_needed() -> None:
    starts = lattice_starts(40, 72, side=32, stride=16, origin=-8)
    assert starts == [24, 40, 56]
    assert lattice_starts(0, 10, side=64, stride=48, origin=-16) == [-16]


def test_input_without_the_needed_context_is_refused() -> None:
    sar, optical = _scene((64, 64))
    placement = Placement(extent=(200, 200), offset=(50, 50), box=(50, 50, 64, 64))
    with pytest.raises(ValueError, match="read more context"):
        _predict(_model(), sar, optical, placement)


def _write_stores(root, name, grid, sar, optical, months):
    from permafusion.composite.dataset import make_dataset
    from permafusion.composite.store import write_composite
    from permafusion.tasks.degradation.patch_store import OPTICAL_BANDS, SAR_BANDS

    paths = {"sar": [], "optical": []}
    for t, month in enumerate(months):
        times = np.array([np.datetime64(f"{month}-01")])
        for sensor, values, variable, bands in (
            ("sar", sar, "backscatter", SAR_BANDS),
            ("optical", optical, "reflectance", OPTICAL_BANDS),
        ):
            counts = np.isfinite(values[t : t + 1]).all(axis=1).astype(np.uint16)
            ds = make_dataset(variable, values[t : t + 1], counts, grid=grid, times=times, bands=bands)
            paths[sensor].append(write_composite(ds, root / name / sensor / f"{month}.zarr"))
    return paths


def test_tile_products_from_composite_stores_equal_the_whole(tmp_path) -> None:
    from permafusion.tasks.degradation.card import model_card
    from permafusion.tasks.degradation.predict import TileComposites, predict_tile_products

    model = _model()
    checkpoint = tmp_path / "model.pt"
    torch.save(
        {
            "state_dict": model.state_dict(),
            "model_name": "permafusionnet",
            "model_kwargs": model.model_kwargs(),
            "norm_stats": STATS,
            "card": model_card(time_steps=4),
        },
        checkpoint,
    )
    whole_grid = GridSpec(32646, (500000.0, 4000000.0 - 480.0, 500000.0 + 960.0, 4000000.0), RES)
    left = Tile("32646_0000_0000", GridSpec(32646, (500000.0, 3999520.0, 500480.0, 4000000.0), RES))
    right = Tile("32646_0001_0000", GridSpec(32646, (500480.0, 3999520.0, 500960.0, 4000000.0), RES))
    sar, optical = _scene(whole_grid.shape)
    months = ["2023-01", "2023-02", "2023-03", "2023-04"]
    stores = {
        "whole": _write_stores(tmp_path, "whole", whole_grid, sar, optical, months),
        "left": _write_stores(tmp_path, "left", left.grid, sar[..., :48], optical[..., :48], months),
        "right": _write_stores(tmp_path, "right", right.grid, sar[..., 48:], optical[..., 48:], months),
    }

    def composites(name, grid):
        return TileComposites(grid, stores[name]["sar"], stores[name]["optical"])

    common = {"checkpoint": checkpoint, "time_steps": 4, "gap_fill": {}, "window": WINDOW, "overlap": OVERLAP}
    whole = predict_tile_products(**common, tile=composites("whole", whole_grid), device="cpu")
    extent = zone_extent(left, [left, right])
    for name, tile, other, cols in (
        ("left", left, "right", slice(0, 48)),
        ("right", right, "left", slice(48, 96)),
    ):
        neighbour = composites(other, right.grid if other == "right" else left.grid)
        part = predict_tile_products(
            **common, tile=composites(name, tile.grid), neighbours=[neighbour], extent=extent, device="cpu"
        )
        np.testing.assert_array_equal(part.classes, whole.classes[:, cols])
        for field in ("probabilities", "uncertainty", "sar_weight"):
            np.testing.assert_allclose(
                getattr(part, field),
                getattr(whole, field)[..., cols],
                atol=2e-5,
                equal_nan=True,
                err_msg=field,
            )
    # the never-observed corner is no data in every product
    assert (whole.classes[:8, -8:] == 0).all() and np.isnan(whole.uncertainty[:, :8, -8:]).all()
    assert whole.sar_weight is not None and np.nanmax(whole.sar_weight) <= 1
