# Leave-one-region-out (seed 000, §5): for each region named in the AOI, train the main model on the
# other regions' patches and test it on the region's. Target: `snakemake --cores all loro`.


rule loro:
    input:
        aoi_path("loro", "table.csv"),


rule loro_index:
    input:
        results("patches/index.csv"),
    output:
        results("loro/{region}/index.csv"),
    wildcard_constraints:
        region="[A-Za-z0-9_-]+",
    conda:
        "../../envs/geo.yaml"
    log:
        logs("loro_index/{region}"),
    threads: 1
    resources:
        mem_mb=attempt_scaled(1000),
        runtime=attempt_scaled(10),
    script:
        "../../scripts/loro_index.py"


rule loro_train:
    input:
        patches=results("patches/patches.zarr"),
        index=results("loro/{region}/index.csv"),
    output:
        checkpoint=results("loro/{region}/checkpoint.pt"),
        history=results("loro/{region}/history.csv"),
    params:
        settings=get_train_settings(),
        training=TRAINING,
    conda:
        "../../envs/torch.yaml"
    log:
        logs("loro_train/{region}"),
    benchmark:
        benchmarks("loro_train/{region}")
    threads: 8
    resources:
        mem_mb=attempt_scaled(8000),
        runtime=attempt_scaled(720),
        gpu=gpus(),
        gpu_model=gpu_model(),
    script:
        "../../scripts/train.py"


rule loro_evaluate:
    input:
        checkpoint=results("loro/{region}/checkpoint.pt"),
        patches=results("patches/patches.zarr"),
        index=results("loro/{region}/index.csv"),
    output:
        results("loro/{region}/metrics.json"),
    params:
        device=config["device"],
    conda:
        "../../envs/torch.yaml"
    log:
        logs("loro_evaluate/{region}"),
    threads: 4
    resources:
        mem_mb=attempt_scaled(4000),
        runtime=attempt_scaled(60),
        gpu=gpus(),
        gpu_model=gpu_model(),
    script:
        "../../scripts/evaluate.py"


rule loro_table:
    input:
        get_loro_metrics,
    output:
        csv=results("loro/table.csv"),
        md=results("loro/table.md"),
    params:
        regions=list(REGIONS),
    conda:
        "../../envs/geo.yaml"
    log:
        logs("loro_table"),
    threads: 1
    resources:
        mem_mb=attempt_scaled(1000),
        runtime=attempt_scaled(10),
    script:
        "../../scripts/loro_table.py"
