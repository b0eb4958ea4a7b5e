# Ground truth to class rasters, then training patches with a spatially blocked split.


rule rasterize_labels:
    input:
        labels=get_labels_file,
    output:
        f"{RESULTS}/{{aoi}}/labels/{{tile}}.tif",
    params:
        grid=get_tile_grid,
    conda:
        "../../envs/geo.yaml"
    log:
        f"{RESULTS}/{{aoi}}/logs/rasterize_labels/{{tile}}.log",
    threads: 1
    resources:
        mem_mb=2000,
    script:
        "../scripts/rasterize_labels.py"


rule build_patches:
    input:
        sar=get_tile_inputs("sar"),
        optical=get_tile_inputs("optical"),
        labels=get_tile_inputs("labels"),
    output:
        store=directory(f"{RESULTS}/{{aoi}}/patches/patches.zarr"),
        index=f"{RESULTS}/{{aoi}}/patches/index.csv",
        table=f"{RESULTS}/{{aoi}}/patches/table1.csv",
    params:
        tiles=list(TILES),
        months=MONTHS,
        settings=config["patches"],
        gap_fill={sensor: config[sensor]["gap_fill"] for sensor in ("sar", "optical")},
        regions=REGIONS,
    conda:
        "../../envs/geo.yaml"
    log:
        f"{RESULTS}/{{aoi}}/logs/build_patches.log",
    threads: 1
    resources:
        mem_mb=4000,
    script:
        "../scripts/build_patches.py"
