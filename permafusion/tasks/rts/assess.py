"""The evaluation step: Table 2 (primary model, one held-out image per site), Table 3 (leave-one-site-out),
object scores and intervals, and the threshold baseline tuned on the same training sites.

For each model the baseline's thresholds are tuned on the model's own training images (the non-test
tiles of its training sites), so the two are compared on equal terms.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from permafusion.tasks.rts.baseline import tune_threshold
from permafusion.tasks.rts.classes import SLUMP
from permafusion.tasks.rts.dataset import TileSet
from permafusion.tasks.rts.evaluate import evaluation_rows, score_units
from permafusion.tasks.rts.labels import site_label_raster
from permafusion.tasks.rts.normalize import MinMax
from permafusion.tasks.rts.predict import load_model, predict_probability
from permafusion.tasks.rts.stack import read_site_image

LOG = logging.getLogger(__name__)
BASELINE_CHANNELS = ("B02", "B03", "B04", "B08")


def _images(
    site: str, years: list[int], sites: Mapping[str, Mapping[str, Any]], labels: Any, channels: list[str]
) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """(model input, baseline input, truth) of a site's images of ``years``."""
    spec = sites[site]
    out = []
    for year in years:
        scene = spec["scenes"][year][0]
        truth = site_label_raster(labels, spec["grid"], year=year)
        image = read_site_image(scene, spec["terrain"], channels)
        bands = read_site_image(scene, None, BASELINE_CHANNELS)
        truth = np.where(np.isfinite(bands).all(axis=0), truth, 0).astype(np.uint8)
        out.append((image, bands, truth))
    return out


def _score_model(
    checkpoint: Path,
    images: Mapping[str, list[tuple[np.ndarray, np.ndarray, np.ndarray]]],
    tiles: TileSet,
    train_sites: list[str],
    *,
    block: int,
    min_pixels: int,
    device: str,
    threshold: float,
) -> tuple[dict[str, tuple[np.ndarray, np.ndarray]], dict[str, float]]:
    """Block counts of the model and of the baseline (tuned on the model's training images) per site."""
    model, fields = load_model(checkpoint, device)
    stats = MinMax.from_mapping(fields["normalization"])
    train = np.isin(tiles.site, train_sites) & ~tiles.test
    baseline = tune_threshold(
        tiles.x[train][:, tiles.channel_index(BASELINE_CHANNELS)], tiles.y[train], BASELINE_CHANNELS
    )
    out = {}
    for site, site_images in images.items():
        net_units, base_units = [], []
        for image, bands, truth in site_images:
            prob = predict_probability(model, image, stats=stats, device=device)
            predicted = np.nan_to_num(prob) > threshold
            net_units.append(score_units(truth, predicted, block=block, min_pixels=min_pixels))
            found = baseline.predict(bands, BASELINE_CHANNELS) == SLUMP
            base_units.append(score_units(truth, found, block=block, min_pixels=min_pixels))
        out[site] = (np.concatenate(net_units), np.concatenate(base_units))
    return out, {"ndvi_max": baseline.ndvi_max, "brightness_min": baseline.brightness_min}


def assess(
    *,
    tiles: TileSet,
    described: Mapping[str, Any],
    sites: Mapping[str, Mapping[str, Any]],
    labels: Any,
    primary: Path,
    loso: Mapping[str, Path],
    block: int,
    min_pixels: int,
    threshold: float,
    n_boot: int,
    seed: int,
    device: str = "cpu",
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """Table 2, Table 3 and a JSON-ready summary (the primary model's overall scores under ``primary``)."""
    fields = load_model(primary, device)[1]
    channels = list(fields["channels"])
    all_sites = sorted(described)
    thresholds: dict[str, Any] = {}
    test_images = {}
    for site in all_sites:
        test = described[site]["test_year"]
        if test is None:
            LOG.warning("site %s has no labelled test image: left out of Table 2", site)
            continue
        test_images[site] = _images(site, [test], sites, labels, channels)
    scored, thresholds["primary"] = _score_model(
        primary,
        test_images,
        tiles,
        all_sites,
        block=block,
        min_pixels=min_pixels,
        device=device,
        threshold=threshold,
    )
    results = [("unet", site, units[0]) for site, units in scored.items()]
    results += [("threshold", site, units[1]) for site, units in scored.items()]
    table2 = pd.DataFrame(evaluation_rows(results, n_boot=n_boot, seed=seed))
    loso_results: list[tuple[str, str, np.ndarray]] = []
    for site, checkpoint in loso.items():
        images = {site: _images(site, described[site]["label_years"], sites, labels, channels)}
        others = [s for s in all_sites if s != site]
        fold, thresholds[f"loso_{site}"] = _score_model(
            checkpoint,
            images,
            tiles,
            others,
            block=block,
            min_pixels=min_pixels,
            device=device,
            threshold=threshold,
        )
        loso_results += [("unet", site, fold[site][0]), ("threshold", site, fold[site][1])]
    table3 = (
        pd.DataFrame(evaluation_rows(loso_results, n_boot=n_boot, seed=seed))
        if loso_results
        else pd.DataFrame()
    )
    overall = table2[(table2["model"] == "unet")]
    primary_row = overall[overall["site"] == "all"] if (overall["site"] == "all").any() else overall
    summary = {
        "primary": primary_row.iloc[0].to_dict() if len(primary_row) else {},
        "threshold_baseline": thresholds,
        "images": dict(described),
        "bootstrap": {"n_boot": n_boot, "seed": seed, "level": 0.95, "unit": f"{block} px block"},
    }
    return table2, table3, summary
