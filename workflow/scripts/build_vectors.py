"""Join the tiles' polygons into the AOI's GeoPackage and GeoParquet, on the map's grid CRS."""

from permafusion.core.logs import setup_step_logging
from permafusion.geo.grid import GridSpec
from permafusion.products.vectors import concat_vector_files, write_vectors

log = setup_step_logging(snakemake.log[0])
grid = GridSpec.from_mapping(snakemake.params.grid)
frame = concat_vector_files(list(snakemake.input), crs=grid.crs)
write_vectors(frame, gpkg=snakemake.output.gpkg, parquet=snakemake.output.parquet, layer="degradation")
log.info(
    "%d polygons from %d tiles -> %s, %s",
    len(frame),
    len(snakemake.input),
    snakemake.output.gpkg,
    snakemake.output.parquet,
)
