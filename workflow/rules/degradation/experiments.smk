# The comparison of the paper: baselines (Table 2) and ablations (Table 3), trained and scored like the main
# model on the same patches, and Tables 1-3 written as CSV and Markdown. `snakemake --cores all tables`.
rule tables:
    input:
        get_tables,


rule train_experiment:
    input:
        patches=results("patches/patches.zarr"),
        index=results("patches/index.csv"),
    output:
        checkpoint=results("experiments/{method}/checkpoint.pt"),
        history=results("experiments/{method}/history.csv"),
    wildcard_constraints:
        method="|".join(NETWORK_EXPERIMENTS),
    params:
        settings=get_experiment_train_settings,
        training=TRAINING,
    conda:
        "../../envs/torch.yaml"
    log:
        logs("train_experiment/{method}"),
    benchmark:
        benchmarks("train_experiment/{method}")
    threads: EXPERIMENT_THREADS
    resources:
        mem_mb=attempt_scaled(8000),
        runtime=attempt_scaled(720),
        gpu=gpus(),
        gpu_model=gpu_model(),
    script:
        "../../scripts/train.py"


rule train_random_forest:
    input:
        patches=results("patches/patches.zarr"),
        index=results("patches/index.csv"),
    output:
        model=results(f"experiments/{RANDOM_FOREST}/model.joblib"),
    params:
        settings=get_random_forest_settings,
    conda:
        "../../envs/torch.yaml"
    log:
        logs(f"train_experiment/{RANDOM_FOREST}"),
    benchmark:
        benchmarks(f"train_experiment/{RANDOM_FOREST}")
    threads: 8
    resources:
        mem_mb=attempt_scaled(8000),
        runtime=attempt_scaled(120),
    script:
        "../../scripts/train_random_forest.py"


rule evaluate_experiment:
    input:
        model=get_experiment_model,
        patches=results("patches/patches.zarr"),
        index=results("patches/index.csv"),
    output:
        results("experiments/{method}/metrics.json"),
    wildcard_constraints:
        method="|".join(SCORED_EXPERIMENTS),
    params:
        method="{method}",
        device=config["device"],
    conda:
        "../../envs/torch.yaml"
    log:
        logs("evaluate_experiment/{method}"),
    threads: EXPERIMENT_THREADS
    resources:
        mem_mb=attempt_scaled(4000),
        runtime=attempt_scaled(60),
        gpu=gpus(),
        gpu_model=gpu_model(),
    script:
        "../../scripts/evaluate_experiment.py"


rule write_tables:
    input:
        index=results("patches/index.csv"),
        metrics=get_table_metrics,
    output:
        table1=report(results("tables/table1.csv"), caption="../../report/table1.rst", category="Tables"),
        table2=report(results("tables/table2.csv"), caption="../../report/tables.rst", category="Tables"),
        table3=report(results("tables/table3.csv"), caption="../../report/tables.rst", category="Tables"),
        markdown=expand(results("tables/table{n}.md"), n=(1, 2, 3), allow_missing=True),
    params:
        metric_methods=TABLE_METHODS,
        methods=TABLE2_METHODS,
        ablations=TABLE3_ABLATIONS,
    conda:
        "../../envs/torch.yaml"
    log:
        logs("write_tables"),
    threads: 1
    resources:
        mem_mb=attempt_scaled(2000),
        runtime=attempt_scaled(10),
    script:
        "../../scripts/write_tables.py"


# Further training seeds (`experiments.seeds`): every method again with each seed, scored on the same test
# patches with the temporal diagnostics, and Tables 2-3 as mean ± sd over all seeds (the main one included).
rule train_experiment_seed:
    input:
        patches=results("patches/patches.zarr"),
        index=results("patches/index.csv"),
    output:
        checkpoint=results("experiments/{method}/seed{seed}/checkpoint.pt"),
        history=results("experiments/{method}/seed{seed}/history.csv"),
    wildcard_constraints:
        method="|".join([*NETWORK_EXPERIMENTS, "permafusionnet"]),
        seed=r"\d+",
    params:
        settings=get_seed_train_settings,
        training=TRAINING,
    conda:
        "../../envs/torch.yaml"
    log:
        logs("train_experiment/{method}_seed{seed}"),
    benchmark:
        benchmarks("train_experiment/{method}_seed{seed}")
    threads: EXPERIMENT_THREADS
    resources:
        mem_mb=attempt_scaled(8000),
        runtime=attempt_scaled(60),
    script:
        "../../scripts/train.py"


rule train_random_forest_seed:
    input:
        patches=results("patches/patches.zarr"),
        index=results("patches/index.csv"),
    output:
        model=results(f"experiments/{RANDOM_FOREST}/seed{{seed}}/model.joblib"),
    wildcard_constraints:
        seed=r"\d+",
    params:
        settings=get_seed_random_forest_settings,
    conda:
        "../../envs/torch.yaml"
    log:
        logs(f"train_experiment/{RANDOM_FOREST}_seed{{seed}}"),
    threads: 8
    resources:
        mem_mb=attempt_scaled(8000),
        runtime=attempt_scaled(60),
    script:
        "../../scripts/train_random_forest.py"


rule evaluate_experiment_seed:
    input:
        model=get_seed_model,
        patches=results("patches/patches.zarr"),
        index=results("patches/index.csv"),
    output:
        results("experiments/{method}/seed{seed}/metrics.json"),
    wildcard_constraints:
        method="|".join(EXPERIMENT_METHODS),
        seed=r"\d+",
    params:
        method="{method}",
        device=config["device"],
    conda:
        "../../envs/torch.yaml"
    log:
        logs("evaluate_experiment/{method}_seed{seed}"),
    threads: EXPERIMENT_THREADS
    resources:
        mem_mb=attempt_scaled(4000),
        runtime=attempt_scaled(60),
    script:
        "../../scripts/evaluate_experiment.py"


rule write_seed_tables:
    input:
        metrics=get_seed_table_metrics,
    output:
        expand(results("tables/table{n}_seeds.{ext}"), n=(2, 3), ext=("csv", "md"), allow_missing=True),
    params:
        metric_methods=[m for m in TABLE_METHODS for _ in SEEDS],
        methods=TABLE2_METHODS,
        ablations=TABLE3_ABLATIONS,
    conda:
        "../../envs/torch.yaml"
    log:
        logs("write_seed_tables"),
    threads: 1
    resources:
        mem_mb=attempt_scaled(2000),
        runtime=attempt_scaled(60),
    script:
        "../../scripts/write_seed_tables.py"
