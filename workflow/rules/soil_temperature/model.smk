# Sequence models per split, then every model and baseline scored on the split's test part.


rule train_soil_model:
    input:
        series=results("series/series.npz"),
        names=results("series/series.json"),
    output:
        checkpoint=results("models/{split}/{model}/checkpoint.pt"),
        history=results("models/{split}/{model}/history.csv"),
    params:
        settings=get_soil_train_settings,
        split=SOIL["split"],
    conda:
        "../../envs/torch.yaml"
    log:
        logs("train_soil_model/{split}_{model}"),
    benchmark:
        benchmarks("train_soil_model/{split}_{model}")
    threads: 2
    resources:
        mem_mb=attempt_scaled(4000),
        runtime=attempt_scaled(60),
    script:
        "../../scripts/train_soil_model.py"


rule evaluate_soil_models:
    input:
        unpack(get_split_checkpoints),
        series=results("series/series.npz"),
        names=results("series/series.json"),
    output:
        predictions=results("eval/{split}/predictions.csv"),
        metrics=results("tables/metrics_{split}.csv"),
        comparison=results("tables/comparison_{split}.csv"),
        markdown=results("tables/comparison_{split}.md"),
        plot=results("plots/series_{split}.png"),
    params:
        models=SOIL_MODELS,
        split=SOIL["split"],
        window=SOIL["train"]["window"],
        baselines=SOIL["baselines"],
        evaluate=SOIL["evaluate"],
        device=config["device"],
    conda:
        "../../envs/torch.yaml"
    log:
        logs("evaluate_soil_models/{split}"),
    benchmark:
        benchmarks("evaluate_soil_models/{split}")
    threads: 2
    resources:
        mem_mb=attempt_scaled(4000),
        runtime=attempt_scaled(60),
    script:
        "../../scripts/evaluate_soil_models.py"


rule write_soil_comparison:
    input:
        unpack(get_split_comparisons),
    output:
        csv=results("tables/comparison.csv"),
        markdown=results("tables/comparison.md"),
    conda:
        "../../envs/torch.yaml"
    log:
        logs("write_soil_comparison"),
    threads: 1
    resources:
        mem_mb=attempt_scaled(1000),
        runtime=attempt_scaled(60),
    script:
        "../../scripts/write_soil_comparison.py"
