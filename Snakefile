# permafusion: permafrost degradation maps from Sentinel-1 + Sentinel-2 time series.
#   snakemake --cores all                       # the offline demo AOI
#   snakemake --cores all --config aoi=tibet    # a real AOI on Planetary Computer
from snakemake.utils import min_version

min_version("8.20")


configfile: "config/config.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/demo.smk"
include: "workflow/rules/search.smk"
include: "workflow/rules/composite.smk"
include: "workflow/rules/labels.smk"
include: "workflow/rules/model.smk"
include: "workflow/rules/experiments.smk"
include: "workflow/rules/loro.smk"
include: "workflow/rules/map.smk"


rule all:
    default_target: True
    input:
        final_outputs(),
