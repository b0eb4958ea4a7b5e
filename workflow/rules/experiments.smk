# The comparison of the paper: baselines (Table 2) and ablations (Table 3), trained and scored like the main
# model on the same patches, and Tables 1-3 written as CSV and Markdown. `snakemake --cores all tables`.
rule tables:
    input:
        get_tables,


rule train_experiment:
    input:
        patches=f"{RESULTS}/{{aoi}}/patches/patches.zarr",
        index=f"{RESULTS}/{{aoi}}/patches/index.csv",
    output:
        checkpoint=f"{RESULTS}/{{aoi}}/experiments/{{method}}/checkpoint.pt",
        history=f"{RESULTS}/{{aoi}}/experiments/{{method}}/history.csv",
    wildcard_constraints:
        method="|".join(NETWORK_EXPERIMENTS),
    params:
        settings=get_experiment_train_settings,
    conda:
        "../../envs/torch.yaml"
    log:
        f"{RESULTS}/{{aoi}}/logs/train_experiment/{{method}}.log",
    benchmark:
        f"{RESULTS}/{{aoi}}/benchmarks/train_experiment/{{method}}.tsv"
    threads: workflow.cores
    resources:
        mem_mb=8000,
    script:
        "../scripts/train.py"


rule train_random_forest:
    input:
        patches=f"{RESULTS}/{{aoi}}/patches/patches.zarr",
        index=f"{RESULTS}/{{aoi}}/patches/index.csv",
    output:
        model=f"{RESULTS}/{{aoi}}/experiments/{RANDOM_FOREST}/model.joblib",
    params:
        settings=get_random_forest_settings,
    conda:
        "../../envs/torch.yaml"
    log:
        f"{RESULTS}/{{aoi}}/logs/train_experiment/{RANDOM_FOREST}.log",
    benchmark:
        f"{RESULTS}/{{aoi}}/benchmarks/train_experiment/{RANDOM_FOREST}.tsv"
    threads: workflow.cores
    resources:
        mem_mb=8000,
    script:
        "../scripts/train_random_forest.py"


rule evaluate_experiment:
    input:
        model=get_experiment_model,
        patches=f"{RESULTS}/{{aoi}}/patches/patches.zarr",
        index=f"{RESULTS}/{{aoi}}/patches/index.csv",
    output:
        f"{RESULTS}/{{aoi}}/experiments/{{method}}/metrics.json",
    wildcard_constraints:
        method="|".join(SCORED_EXPERIMENTS),
    params:
        method="{method}",
    conda:
        "../../envs/torch.yaml"
    log:
        f"{RESULTS}/{{aoi}}/logs/evaluate_experiment/{{method}}.log",
    threads: workflow.cores
    resources:
        mem_mb=4000,
    script:
        "../scripts/evaluate_experiment.py"


rule write_tables:
    input:
        index=f"{RESULTS}/{{aoi}}/patches/index.csv",
        metrics=get_table_metrics,
    output:
        expand(f"{RESULTS}/{{{{aoi}}}}/tables/table{{n}}.{{ext}}", n=(1, 2, 3), ext=("csv", "md")),
    params:
        metric_methods=TABLE_METHODS,
        methods=TABLE2_METHODS,
        ablations=TABLE3_ABLATIONS,
    conda:
        "../../envs/torch.yaml"
    log:
        f"{RESULTS}/{{aoi}}/logs/write_tables.log",
    threads: 1
    resources:
        mem_mb=2000,
    script:
        "../scripts/write_tables.py"
