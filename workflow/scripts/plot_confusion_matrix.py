"""The test split's confusion matrix of the AOI's model, as a figure."""

import json

from permafusion.core.classes import ClassScheme
from permafusion.core.logs import setup_step_logging
from permafusion.products.figures import plot_confusion_matrix

log = setup_step_logging(snakemake.log[0])
scheme = ClassScheme.from_mapping(snakemake.params.scheme)
with open(snakemake.input[0]) as file:
    model = json.load(file)["model"]
title = f"test split: OA {model['overall_accuracy']:.2f}, mean F1 {model['mean_f1']:.2f}"
plot_confusion_matrix(
    model["confusion_matrix"], [scheme.name_of(c) for c in scheme.codes], snakemake.output[0], title=title
)
log.info("%s -> %s", title, snakemake.output[0])
