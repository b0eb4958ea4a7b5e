# Monthly composites per processing tile and month, and terrain per tile, all on the tile's UTM 10 m grid.
# The per-sensor item check is `ancient`: it must have passed (the period is not empty), but its refresh
# reruns nothing.


rule composite_sar:
    input:
        item_list=results("items/sar/{month}.json"),
        checked=ancient(results("items/sar_per_month.csv")),
    output:
        directory(results("composites/{tile}/sar/{month}.zarr")),
    params:
        sensor="sar",
        grid=get_tile_grid,
        settings={
            **{k: config["sar"][k] for k in ("speckle_filter", "window")},
            "separate_orbits": config["sar"]["orbit_state"] == "separate",
        },
        signing=AOI.catalog.signing,
        max_failed_read_fraction=config["composite"]["max_failed_read_fraction"],
        verify=config["composite"]["verify"],
        gdal_cache_mb=config["composite"]["gdal_cache_mb"],
    group:
        "composite"
    conda:
        "../envs/geo.yaml"
    log:
        logs("composite_sar/{tile}/{month}"),
    benchmark:
        benchmarks("composite_sar/{tile}/{month}")
    threads: 2
    resources:
        mem_mb=attempt_scaled(4000),
        runtime=attempt_scaled(60),
    script:
        "../scripts/composite.py"


rule composite_optical:
    input:
        item_list=results("items/optical/{month}.json"),
        checked=ancient(results("items/optical_per_month.csv")),
    output:
        directory(results("composites/{tile}/optical/{month}.zarr")),
    params:
        sensor="optical",
        grid=get_tile_grid,
        settings={"mask_classes": config["optical"]["mask_classes"]},
        signing=AOI.catalog.signing,
        max_failed_read_fraction=config["composite"]["max_failed_read_fraction"],
        verify=config["composite"]["verify"],
        gdal_cache_mb=config["composite"]["gdal_cache_mb"],
    group:
        "composite"
    conda:
        "../envs/geo.yaml"
    log:
        logs("composite_optical/{tile}/{month}"),
    benchmark:
        benchmarks("composite_optical/{tile}/{month}")
    threads: 2
    resources:
        mem_mb=attempt_scaled(4000),
        runtime=attempt_scaled(60),
    script:
        "../scripts/composite.py"


rule build_terrain:
    input:
        item_list=results("items/dem.json"),
    output:
        results("terrain/{tile}.tif"),
    params:
        grid=get_tile_grid,
        signing=AOI.catalog.signing,
    group:
        "terrain"
    conda:
        "../envs/geo.yaml"
    log:
        logs("build_terrain/{tile}"),
    threads: 2
    resources:
        mem_mb=attempt_scaled(2000),
        runtime=attempt_scaled(30),
    script:
        "../scripts/build_terrain.py"
