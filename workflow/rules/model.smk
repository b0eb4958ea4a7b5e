# PermaFusionNet: train on the training split, keep the best validation epoch, evaluate on the test split.


rule train:
    input:
        patches=f"{RESULTS}/{{aoi}}/patches/patches.zarr",
        index=f"{RESULTS}/{{aoi}}/patches/index.csv",
    output:
        checkpoint=f"{RESULTS}/{{aoi}}/model/checkpoint.pt",
        history=f"{RESULTS}/{{aoi}}/model/history.csv",
    params:
        settings=get_train_settings(),
    conda:
        "../../envs/torch.yaml"
    log:
        f"{RESULTS}/{{aoi}}/logs/train.log",
    benchmark:
        f"{RESULTS}/{{aoi}}/benchmarks/train.tsv"
    threads: workflow.cores
    resources:
        mem_mb=8000,
    script:
        "../scripts/train.py"


rule evaluate:
    input:
        checkpoint=f"{RESULTS}/{{aoi}}/model/checkpoint.pt",
        patches=f"{RESULTS}/{{aoi}}/patches/patches.zarr",
        index=f"{RESULTS}/{{aoi}}/patches/index.csv",
    output:
        f"{RESULTS}/{{aoi}}/eval/metrics.json",
    conda:
        "../../envs/torch.yaml"
    log:
        f"{RESULTS}/{{aoi}}/logs/evaluate.log",
    threads: workflow.cores
    resources:
        mem_mb=4000,
    script:
        "../scripts/evaluate.py"


rule predict_tile:
    input:
        checkpoint=f"{RESULTS}/{{aoi}}/model/checkpoint.pt",
        sar=get_tile_composites("sar"),
        optical=get_tile_composites("optical"),
    output:
        f"{RESULTS}/{{aoi}}/predict/{{tile}}.tif",
    params:
        grid=get_tile_grid,
        time_steps=config["patches"]["time_steps"],
        gap_fill={sensor: config[sensor]["gap_fill"] for sensor in ("sar", "optical")},
        settings=config["predict"],
    conda:
        "../../envs/torch.yaml"
    log:
        f"{RESULTS}/{{aoi}}/logs/predict_tile/{{tile}}.log",
    threads: workflow.cores
    resources:
        mem_mb=8000,
    script:
        "../scripts/predict_tile.py"
