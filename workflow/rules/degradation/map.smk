# AOI-wide products: the class map COG, its area table, the per-pixel product COGs, the modality-weight
# plot and a quicklook.


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
        mem_mb=4000,
    script:
        "../../scripts/build_map.py"


rule build_pixel_map:
    input:
        get_tile_products,
    output:
        results("map/{product}.tif"),
    params:
        grid=get_map_grid(),
    wildcard_constraints:
        product="probabilities|uncertainty|modality_weight",
    conda:
        "../../envs/geo.yaml"
    log:
        logs("build_pixel_map/{product}"),
    threads: 1
    resources:
        mem_mb=2000,
    script:
        "../../scripts/build_pixel_map.py"


rule plot_modality_weight:
    input:
        weights=results("map/modality_weight.tif"),
        classes=results("map/degradation.tif"),
    output:
        table=results("map/modality_weight_by_class.csv"),
        plot=results("map/modality_weight_by_class.png"),
    params:
        scheme=get_class_scheme,
    conda:
        "../../envs/geo.yaml"
    log:
        logs("plot_modality_weight"),
    threads: 1
    resources:
        mem_mb=2000,
    script:
        "../../scripts/plot_modality_weight.py"


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
        mem_mb=4000,
    script:
        "../../scripts/plot_quicklook.py"
