# Monthly composites per processing tile, all on the tile's UTM 10 m grid.


rule composite_sar:
    input:
        item_list=f"{RESULTS}/{{aoi}}/items/sar.json",
    output:
        directory(f"{RESULTS}/{{aoi}}/composites/{{tile}}/sar.zarr"),
    params:
        grid=get_tile_grid,
        months=MONTHS,
        settings={k: config["sar"][k] for k in ("speckle_filter", "window")},
        gap_fill=config["sar"]["gap_fill"],
        signing=AOI.catalog.signing,
    conda:
        "../../envs/geo.yaml"
    log:
        f"{RESULTS}/{{aoi}}/logs/composite_sar/{{tile}}.log",
    benchmark:
        f"{RESULTS}/{{aoi}}/benchmarks/composite_sar/{{tile}}.tsv"
    threads: 2
    resources:
        mem_mb=4000,
    script:
        "../scripts/composite.py"


rule composite_optical:
    input:
        item_list=f"{RESULTS}/{{aoi}}/items/optical.json",
    output:
        directory(f"{RESULTS}/{{aoi}}/composites/{{tile}}/optical.zarr"),
    params:
        grid=get_tile_grid,
        months=MONTHS,
        settings={"mask_classes": config["optical"]["mask_classes"]},
        gap_fill=config["optical"]["gap_fill"],
        signing=AOI.catalog.signing,
    conda:
        "../../envs/geo.yaml"
    log:
        f"{RESULTS}/{{aoi}}/logs/composite_optical/{{tile}}.log",
    benchmark:
        f"{RESULTS}/{{aoi}}/benchmarks/composite_optical/{{tile}}.tsv"
    threads: 2
    resources:
        mem_mb=4000,
    script:
        "../scripts/composite.py"


rule build_terrain:
    input:
        item_list=f"{RESULTS}/{{aoi}}/items/dem.json",
    output:
        f"{RESULTS}/{{aoi}}/terrain/{{tile}}.tif",
    params:
        grid=get_tile_grid,
        signing=AOI.catalog.signing,
    conda:
        "../../envs/geo.yaml"
    log:
        f"{RESULTS}/{{aoi}}/logs/build_terrain/{{tile}}.log",
    threads: 2
    resources:
        mem_mb=2000,
    script:
        "../scripts/build_terrain.py"
