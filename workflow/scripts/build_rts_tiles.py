"""Every labelled (site, year) image with a scene, cut into tiles; the held-out image of each site marked."""

from permafusion.core.files import write_json
from permafusion.core.logs import setup_step_logging
from permafusion.tasks.rts.dataset import build_tileset
from permafusion.tasks.rts.labels import read_slump_labels
from permafusion.tasks.rts.layout import site_specs

log = setup_step_logging(snakemake.log[0])
settings = snakemake.params.settings
sites = site_specs(
    snakemake.params.sites,
    years=snakemake.params.years,
    scene_tifs=snakemake.input.tifs,
    scene_infos=snakemake.input.infos,
    terrains=snakemake.input.terrains,
)
labels = read_slump_labels(snakemake.input.labels, aoi_bbox=snakemake.params.aoi_bbox)
log.info(
    "%d dated outlines in %s, years %s", len(labels), snakemake.input.labels, sorted(set(labels["year"]))
)
tiles, described = build_tileset(
    sites=sites,
    labels=labels,
    label_years=settings["label_years"],
    test_year=settings["test_year"],
    tile_size=settings["tile_size"],
    min_valid=settings["min_valid"],
    label_file=snakemake.input.labels,
)
log.info(
    "%d tiles (%d positive, %d in test images); images %s",
    len(tiles),
    int(tiles.positive.sum()),
    int(tiles.test.sum()),
    described,
)
tiles.save(snakemake.output.tiles)
write_json(described, snakemake.output.images)
