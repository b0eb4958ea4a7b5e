# AOI-wide products: the class map COG, its area table and a quicklook.


rule build_map:
    input:
        per_tile_files("predict/{tile}.tif"),
    output:
        map=results("map/degradation.tif"),
        style=results("map/degradation.qml"),
        areas=results("map/area_by_class.csv"),
    params:
        grid=get_map_grid(),
        scheme=get_class_scheme,
    conda:
        "../../envs/geo.yaml"
    log:
        logs("build_map"),
    threads: 1
    resources:
        mem_mb=attempt_scaled(4000),
        runtime=attempt_scaled(60),
    script:
        "../../scripts/build_map.py"


rule plot_quicklook:
    input:
        map=results("map/degradation.tif"),
        optical=all_composites("optical"),
    output:
        results("map/quicklook.png"),
    params:
        tiles=list(TILES),
        scheme=get_class_scheme,
    conda:
        "../../envs/geo.yaml"
    log:
        logs("plot_quicklook"),
    threads: 1
    resources:
        mem_mb=attempt_scaled(4000),
        runtime=attempt_scaled(30),
    script:
        "../../scripts/plot_quicklook.py"
