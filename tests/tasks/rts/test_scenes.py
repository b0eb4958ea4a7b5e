"""The yearly scene per site: the seed's closest-date rule, a skipped cloudy year, and the summer median,
on the thaw-slump demo's own catalog."""

import datetime as dt

import numpy as np
import pystac
import pytest

from permafusion.demo.rts.generate import CLOUDY_YEAR, generate_rts_demo
from permafusion.geo.local_catalog import scan_catalog
from permafusion.tasks.rts.scenes import SceneRule, candidates, select_scene, summer_median

SITE = [-133.39, 69.41, -133.355, 69.425]


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("rts_demo")
    world = generate_rts_demo(
        aoi_bbox=[-133.40, 69.40, -133.34, 69.44],
        sites={"s": SITE},
        years=[2017, 2018],
        seed=5,
        stac_dir=out / "stac",
        labels=out / "labels.gpkg",
    )
    items = [
        pystac.Item.from_dict(i) for i in scan_catalog(out / "stac")[1] if i["collection"] == "sentinel-2-l2a"
    ]
    return world, items


def test_the_closest_clear_scene_to_the_target_date_is_chosen(demo):
    world, items = demo
    rule = SceneRule(target="07-31", max_cloud=10.0)
    options = candidates(items, site_bbox=SITE, year=2018, rule=rule)
    assert options and all(float(i.properties["eo:cloud_cover"]) <= 10 for i in options)
    gaps = [abs((i.datetime.date() - dt.date(2018, 7, 31)).days) for i in options]
    assert gaps == sorted(gaps)
    scene = select_scene(items, site="s", site_bbox=SITE, year=2018, grid=world.site_grids["s"], rule=rule)
    assert scene.info["status"] == "ok" and scene.info["item"] in {i.id for i in options}
    assert scene.image is not None and scene.image.shape == (4, *world.site_grids["s"].shape)
    assert 0.2 < float(np.nanmedian(scene.image[3])) < 0.4  # tundra NIR reflectance, offset removed


def test_a_summer_without_a_scene_under_the_limit_is_skipped_with_the_reason(demo):
    world, items = demo
    scene = select_scene(
        items,
        site="s",
        site_bbox=SITE,
        year=CLOUDY_YEAR,
        grid=world.site_grids["s"],
        rule=SceneRule(max_cloud=10.0),
    )
    assert scene.image is None and scene.info["status"] == "skipped"
    assert "cloud cover <= 10.0 %" in scene.info["reason"]
    loose = select_scene(
        items,
        site="s",
        site_bbox=SITE,
        year=CLOUDY_YEAR,
        grid=world.site_grids["s"],
        rule=SceneRule(max_cloud=100.0, min_clear=0.99),
    )
    assert loose.image is None and "clear over site s" in loose.info["reason"]


def test_the_summer_median_fills_what_one_scene_misses(demo):
    world, items = demo
    grid = world.site_grids["s"]
    months = [f"2018-{m:02d}" for m in range(6, 10)]
    median = summer_median(
        items,
        site="s",
        site_bbox=SITE,
        year=2018,
        months=months,
        grid=grid,
        rule=SceneRule(method="median", max_cloud=100.0, min_clear=0.5),
    )
    assert median.info["status"] == "ok" and median.image is not None
    assert np.isfinite(median.image).all(axis=0).mean() >= median.info["clear_fraction"] - 1e-9
    assert 0.2 < float(np.nanmedian(median.image[3])) < 0.4
