# PermaFusionNet: train on the training split, keep the best validation epoch, evaluate on the test split,
# and classify every tile. Threads are what each job asks for; Snakemake gives at most --cores.


rule train:
    input:
        patches=results("patches/patches.zarr"),
        index=results("patches/index.csv"),
    output:
        checkpoint=results("model/checkpoint.pt"),
        history=results("model/history.csv"),
    params:
        settings=get_train_settings(),
        training=TRAINING,
        processes=CLUSTER["train_processes"],
    conda:
        "../../envs/torch.yaml"
    log:
        logs("train"),
    benchmark:
        benchmarks("train")
    threads: 8
    resources:
        mem_mb=attempt_scaled(8000),
        runtime=attempt_scaled(720),
        gpu=gpus(CLUSTER["train_processes"]),
        gpu_model=gpu_model(),
    script:
        "../../scripts/train.py"


rule evaluate:
    input:
        checkpoint=results("model/checkpoint.pt"),
        patches=results("patches/patches.zarr"),
        index=results("patches/index.csv"),
    output:
        results("eval/metrics.json"),
    params:
        device=config["device"],
    conda:
        "../../envs/torch.yaml"
    log:
        logs("evaluate"),
    threads: 4
    resources:
        mem_mb=attempt_scaled(4000),
        runtime=attempt_scaled(60),
        gpu=gpus(),
        gpu_model=gpu_model(),
    script:
        "../../scripts/evaluate.py"


rule calibrate:
    input:
        checkpoint=results("model/checkpoint.pt"),
        patches=results("patches/patches.zarr"),
        index=results("patches/index.csv"),
    output:
        temperature=results("model/calibration.json"),
        scores=results("eval/calibration.json"),
        plot=report(results("eval/reliability.png"), caption="../../report/calibration.rst",
                    category="Interpretability and calibration"),
    params:
        device=config["device"],
    conda:
        "../../envs/torch.yaml"
    log:
        logs("calibrate"),
    threads: 4
    resources:
        mem_mb=attempt_scaled(4000),
        runtime=attempt_scaled(60),
        gpu=gpus(),
        gpu_model=gpu_model(),
    script:
        "../../scripts/calibrate.py"


rule predict_tile:
    input:
        checkpoint=get_checkpoint,
        calibration=get_calibration,
        sar=get_tile_composites("sar"),
        optical=get_tile_composites("optical"),
        context_sar=get_context_composites("sar"),
        context_optical=get_context_composites("optical"),
    output:
        classes=results("predict/{tile}.tif"),
        probabilities=results("predict/{tile}.probabilities.tif"),
        uncertainty=results("predict/{tile}.uncertainty.tif"),
        modality_weight=results("predict/{tile}.modality_weight.tif"),
    params:
        grid=get_tile_grid,
        position=get_tile_position,
        context=get_tile_context,
        months=model_steps(MONTHS),
        time_steps=_STEPS,
        step_months=_STEP_MONTHS,
        gap_fill={sensor: config[sensor]["gap_fill"] for sensor in ("sar", "optical")},
        settings=config["predict"],
        device=config["device"],
    conda:
        "../../envs/torch.yaml"
    log:
        logs("predict_tile/{tile}"),
    threads: 4
    resources:
        mem_mb=attempt_scaled(8000),
        runtime=attempt_scaled(120),
        gpu=gpus(),
        gpu_model=gpu_model(),
    script:
        "../../scripts/predict_tile.py"


rule plot_training_curves:
    input:
        history=results("model/history.csv"),
        checkpoint=results("model/checkpoint.pt"),
    output:
        report(results("model/training_curves.png"), caption="../../report/training_curves.rst", category="Model"),
    conda:
        "../../envs/torch.yaml"
    log:
        logs("plot_training_curves"),
    threads: 1
    resources:
        mem_mb=attempt_scaled(2000),
        runtime=attempt_scaled(60),
    script:
        "../../scripts/plot_training_curves.py"


rule plot_confusion_matrix:
    input:
        results("eval/metrics.json"),
    output:
        report(results("eval/confusion_matrix.png"), caption="../../report/confusion_matrix.rst", category="Evaluation"),
    params:
        scheme=get_class_scheme,
    conda:
        "../../envs/geo.yaml"
    log:
        logs("plot_confusion_matrix"),
    threads: 1
    resources:
        mem_mb=attempt_scaled(2000),
        runtime=attempt_scaled(60),
    script:
        "../../scripts/plot_confusion_matrix.py"
