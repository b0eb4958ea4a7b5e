"""Change between two years' class maps: the transition map (COG + QGIS style) and the table in km²."""

from permafusion.core.classes import ClassScheme
from permafusion.core.files import write_csv
from permafusion.core.logs import setup_step_logging
from permafusion.products.change import transition_codes, transition_scheme, transition_table
from permafusion.products.maps import read_class_map, write_class_cog, write_class_style

log = setup_step_logging(snakemake.log[0])
scheme = ClassScheme.from_mapping(snakemake.params.scheme)
before, grid = read_class_map(snakemake.input.before)
after, after_grid = read_class_map(snakemake.input.after)
if after_grid != grid:
    raise ValueError(
        f"{snakemake.input.before} and {snakemake.input.after} are on different grids ({grid} and "
        f"{after_grid}): rebuild both maps with the same AOI settings"
    )
years = f"{snakemake.wildcards.year} -> {snakemake.wildcards.later}"
change = transition_scheme(scheme, title=f"{scheme.title}, {years}")
codes = transition_codes(before, after, num_classes=scheme.num_classes)
write_class_cog(codes, grid, snakemake.output.map, scheme=change)
write_class_style(change, snakemake.output.style)
table = transition_table(before, after, resolution=grid.resolution, scheme=scheme)
write_csv(table, snakemake.output.transitions)
changed = table.loc[table["changed"], "area_km2"].sum()
log.info("%s: %.4f of %.4f km² changed class\n%s", years, changed, table["area_km2"].sum(), table.to_string())
