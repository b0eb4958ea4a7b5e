# Training patches: 128x128 windows x the latest months, split by spatial blocks, and Table 1.


rule build_patches:
    input:
        sar=all_composites("sar"),
        optical=all_composites("optical"),
        labels=per_tile_files("labels/{tile}.tif"),
    output:
        store=directory(results("patches/patches.zarr")),
        index=results("patches/index.csv"),
        table=report(results("patches/table1.csv"), caption="../../report/table1.rst", category="Tables"),
    params:
        tiles=list(TILES),
        settings=config["patches"],
        gap_fill={sensor: config[sensor]["gap_fill"] for sensor in ("sar", "optical")},
        regions=REGIONS,
    conda:
        "../../envs/geo.yaml"
    log:
        logs("build_patches"),
    threads: 1
    resources:
        mem_mb=attempt_scaled(4000),
        runtime=attempt_scaled(60),
    script:
        "../../scripts/build_patches.py"
