# Leave-one-region-out (seed 000, §5): for each region named in the AOI, train the main model on the
# other regions' patches and test it on the region's. Target: `snakemake --cores all loro`.


rule loro:
    input:
        f"{RESULTS}/{config['aoi']}/loro/table.csv",


rule loro_index:
    input:
        f"{RESULTS}/{{aoi}}/patches/index.csv",
    output:
        f"{RESULTS}/{{aoi}}/loro/{{region}}/index.csv",
    wildcard_constraints:
        region="[A-Za-z0-9_-]+",
    conda:
        "../../envs/geo.yaml"
    log:
        f"{RESULTS}/{{aoi}}/logs/loro_index/{{region}}.log",
    script:
        "../scripts/loro_index.py"


rule loro_train:
    input:
        patches=f"{RESULTS}/{{aoi}}/patches/patches.zarr",
        index=f"{RESULTS}/{{aoi}}/loro/{{region}}/index.csv",
    output:
        checkpoint=f"{RESULTS}/{{aoi}}/loro/{{region}}/checkpoint.pt",
        history=f"{RESULTS}/{{aoi}}/loro/{{region}}/history.csv",
    params:
        settings=get_train_settings(),
    conda:
        "../../envs/torch.yaml"
    log:
        f"{RESULTS}/{{aoi}}/logs/loro_train/{{region}}.log",
    benchmark:
        f"{RESULTS}/{{aoi}}/benchmarks/loro_train/{{region}}.tsv"
    threads: workflow.cores
    resources:
        mem_mb=8000,
    script:
        "../scripts/train.py"


rule loro_evaluate:
    input:
        checkpoint=f"{RESULTS}/{{aoi}}/loro/{{region}}/checkpoint.pt",
        patches=f"{RESULTS}/{{aoi}}/patches/patches.zarr",
        index=f"{RESULTS}/{{aoi}}/loro/{{region}}/index.csv",
    output:
        f"{RESULTS}/{{aoi}}/loro/{{region}}/metrics.json",
    conda:
        "../../envs/torch.yaml"
    log:
        f"{RESULTS}/{{aoi}}/logs/loro_evaluate/{{region}}.log",
    threads: workflow.cores
    resources:
        mem_mb=4000,
    script:
        "../scripts/evaluate.py"


rule loro_table:
    input:
        get_loro_metrics,
    output:
        csv=f"{RESULTS}/{{aoi}}/loro/table.csv",
        md=f"{RESULTS}/{{aoi}}/loro/table.md",
    params:
        regions=list(REGIONS),
    conda:
        "../../envs/geo.yaml"
    log:
        f"{RESULTS}/{{aoi}}/logs/loro_table.log",
    script:
        "../scripts/loro_table.py"
