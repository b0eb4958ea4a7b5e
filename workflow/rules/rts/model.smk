# The primary model on every site, one model per held-out site, and their evaluation (Tables 2 and 3).
# Training asks for one thread: the folds then train side by side on a laptop, which beats two threads
# for one small U-Net at a time; a cluster profile can raise it with `set-threads`.


rule train_rts:
    input:
        tiles=results("rts/tiles.npz"),
    output:
        checkpoint=results("rts/models/primary.pt"),
        history=results("rts/models/primary_history.csv"),
    params:
        settings=get_rts_train_settings(),
        sites=list(SITES),
    conda:
        "../../envs/torch.yaml"
    log:
        logs("train_rts/primary"),
    benchmark:
        benchmarks("train_rts/primary")
    threads: 1
    resources:
        mem_mb=attempt_scaled(8000),
        runtime=attempt_scaled(60),
    script:
        "../../scripts/train_rts.py"


rule train_rts_loso:
    input:
        tiles=results("rts/tiles.npz"),
    output:
        checkpoint=results("rts/models/loso_{site}.pt"),
        history=results("rts/models/loso_{site}_history.csv"),
    params:
        settings=get_rts_train_settings(),
        sites=get_loso_training_sites,
    conda:
        "../../envs/torch.yaml"
    log:
        logs("train_rts/loso_{site}"),
    benchmark:
        benchmarks("train_rts/loso_{site}")
    threads: 1
    resources:
        mem_mb=attempt_scaled(8000),
        runtime=attempt_scaled(60),
    script:
        "../../scripts/train_rts.py"


rule evaluate_rts:
    input:
        tiles=results("rts/tiles.npz"),
        images=results("rts/images.json"),
        labels=get_labels_file,
        primary=results("rts/models/primary.pt"),
        loso=expand(results("rts/models/loso_{site}.pt"), site=LOSO_SITES, allow_missing=True),
        tifs=scene_files("tif"),
        infos=scene_files("json"),
        terrains=site_terrains(),
    output:
        table2=results("rts/tables/table2.csv"),
        table3=results("rts/tables/table3.csv"),
        metrics=results("rts/tables/metrics.json"),
    params:
        sites=site_params(),
        years=YEARS,
        loso_sites=LOSO_SITES,
        aoi_bbox=list(AOI.bbox),
        settings={
            "block": RTS_CONFIG["tile_size"],
            "min_pixels": max(1, -int(-RTS_CONFIG["min_area_m2"] // config["resolution"] ** 2)),
            "threshold": RTS_CONFIG["threshold"],
            "n_boot": RTS_CONFIG["n_boot"],
            "seed": RTS_CONFIG["train"]["seed"],
            "device": config["device"],
        },
    conda:
        "../../envs/torch.yaml"
    log:
        logs("evaluate_rts"),
    threads: 2
    resources:
        mem_mb=attempt_scaled(4000),
        runtime=attempt_scaled(60),
    script:
        "../../scripts/evaluate_rts.py"
