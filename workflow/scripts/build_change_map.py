"""Change between two years' class maps: the transition map (COG + QGIS style) and the table in km²."""

from permafusion.core.classes import ClassScheme
from permafusion.core.logs import setup_step_logging
from permafusion.products.change import write_change_products

log = setup_step_logging(snakemake.log[0])
scheme = ClassScheme.from_mapping(snakemake.params.scheme)
years = f"{snakemake.wildcards.year} -> {snakemake.wildcards.later}"
table = write_change_products(
    snakemake.input.before,
    snakemake.input.after,
    scheme=scheme,
    title=f"{scheme.title}, {years}",
    map_path=snakemake.output.map,
    style_path=snakemake.output.style,
    table_path=snakemake.output.transitions,
)
changed = table.loc[table["changed"], "area_km2"].sum()
log.info("%s: %.4f of %.4f km² changed class\n%s", years, changed, table["area_km2"].sum(), table.to_string())
