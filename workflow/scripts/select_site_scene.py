"""A site's image of one summer on its grid: the scene closest to the target date under the cloud limit,
or (`rts.scene.method: median`) the summer median composite."""

from permafusion.core.logs import setup_step_logging
from permafusion.geo.grid import GridSpec
from permafusion.geo.search import load_items
from permafusion.geo.signing import signer_for
from permafusion.tasks.rts.scenes import SceneRule, select_scene, summer_median, write_site_scene

log = setup_step_logging(snakemake.log[0])
site, year = snakemake.wildcards.site, int(snakemake.wildcards.year)
spec = snakemake.params.sites[site]
grid = GridSpec.from_mapping(spec["grid"])
rule = SceneRule(**{**snakemake.params.rule, "mask_classes": tuple(snakemake.params.rule["mask_classes"])})
items = load_items(snakemake.input.item_list)
log.info("%s %d: %d summer items, grid %s %s", site, year, len(items), grid.crs, grid.shape)
choose = select_scene if rule.method == "closest" else summer_median
extra = {"months": snakemake.params.months} if rule.method == "median" else {}
scene = choose(
    items,
    site=site,
    site_bbox=spec["bbox"],
    year=year,
    grid=grid,
    rule=rule,
    sign=signer_for(snakemake.params.signing),
    log=log,
    **extra,
)
write_site_scene(scene, grid, snakemake.output.tif, snakemake.output.info)
