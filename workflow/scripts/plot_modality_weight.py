"""The mean SAR weight of the cross-modal gate per month and class: a CSV and a plot."""

from permafusion.core.classes import ClassScheme
from permafusion.core.files import write_csv
from permafusion.core.logs import setup_step_logging
from permafusion.products.modality import monthly_mean_by_class, plot_monthly_by_class

log = setup_step_logging(snakemake.log[0])
scheme = ClassScheme.from_mapping(snakemake.params.scheme)
table = monthly_mean_by_class(snakemake.input.weights, snakemake.input.classes, scheme=scheme)
write_csv(table, snakemake.output.table)
plot_monthly_by_class(
    table,
    snakemake.output.plot,
    scheme=scheme,
    title=f"permafusion {snakemake.wildcards.aoi}: mean SAR weight per month and class",
)
log.info("monthly SAR weight per class:\n%s", table.to_string(index=False))
