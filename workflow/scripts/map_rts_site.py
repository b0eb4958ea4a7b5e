"""Every year's slump mask, polygons, count and area of one site with the primary model."""

import pandas as pd

from permafusion.core.files import write_csv
from permafusion.core.logs import setup_step_logging
from permafusion.geo.grid import GridSpec
from permafusion.tasks.rts.mapping import map_site

log = setup_step_logging(snakemake.log[0])
site, years = snakemake.wildcards.site, snakemake.params.years
rows = map_site(
    site=site,
    grid=GridSpec.from_mapping(snakemake.params.sites[site]["grid"]),
    checkpoint=snakemake.input.checkpoint,
    scenes={
        year: (tif, info)
        for year, tif, info in zip(years, snakemake.input.tifs, snakemake.input.infos, strict=True)
    },
    terrain=snakemake.input.terrain[0] if snakemake.input.terrain else None,
    outputs={
        year: {"mask": mask, "gpkg": gpkg, "parquet": parquet}
        for year, mask, gpkg, parquet in zip(
            years, snakemake.output.masks, snakemake.output.gpkgs, snakemake.output.parquets, strict=True
        )
    },
    threshold=snakemake.params.threshold,
    min_area_m2=snakemake.params.min_area_m2,
    device=snakemake.params.device,
)
write_csv(pd.DataFrame(rows), snakemake.output.rows)
