# AOI-wide products: the class map COG, its area table, its polygons, the per-pixel product COGs
# (probabilities, uncertainty, modality weight) with the modality-weight plot, and a quicklook. An AOI of several UTM
# zones has one map per zone, map/<EPSG>/... (the build_zone_* and plot_zone_quicklook rules), each on its
# zone's grid.
# Report categories (workflow/report/workflow.rst): Map, Change, Model, Evaluation, Tables, and
# "Interpretability and calibration" for the modality-weight plot (caption ../../report/modality_weight.rst)
# and the reliability diagram (caption ../../report/calibration.rst).


rule build_map:
    input:
        per_tile_files("predict/{tile}.tif"),
    output:
        map=results("map/degradation.tif"),
        style=results("map/degradation.qml"),
        areas=report(results("map/area_by_class.csv"), caption="../../report/area_by_class.rst", category="Map"),
    params:
        grid=get_map_grid,
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
        report(results("map/quicklook.png"), caption="../../report/quicklook.rst", category="Map"),
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


rule build_pixel_map:
    input:
        get_tile_products,
    output:
        results("map/{product}.tif"),
    params:
        grid=get_map_grid,
    wildcard_constraints:
        product="probabilities|uncertainty|modality_weight",
    conda:
        "../../envs/geo.yaml"
    log:
        logs("build_pixel_map/{product}"),
    threads: 1
    resources:
        mem_mb=attempt_scaled(2000),
        runtime=attempt_scaled(60),
    script:
        "../../scripts/build_pixel_map.py"


rule plot_modality_weight:
    input:
        weights=results("map/modality_weight.tif"),
        classes=results("map/degradation.tif"),
    output:
        table=results("map/modality_weight_by_class.csv"),
        plot=report(results("map/modality_weight_by_class.png"), caption="../../report/modality_weight.rst",
                    category="Interpretability and calibration"),
    params:
        scheme=get_class_scheme,
    conda:
        "../../envs/geo.yaml"
    log:
        logs("plot_modality_weight"),
    threads: 1
    resources:
        mem_mb=attempt_scaled(2000),
        runtime=attempt_scaled(60),
    script:
        "../../scripts/plot_modality_weight.py"


rule vectorize_tile:
    input:
        classes=results("predict/{tile}.tif"),
        probabilities=results("predict/{tile}.probabilities.tif"),
    output:
        temp(results("vectors/{tile}.parquet")),
    params:
        scheme=get_class_scheme,
        settings=config["vectors"],
    conda:
        "../../envs/geo.yaml"
    log:
        logs("vectorize_tile/{tile}"),
    threads: 1
    resources:
        mem_mb=attempt_scaled(4000),
        runtime=attempt_scaled(60),
    script:
        "../../scripts/vectorize_tile.py"


rule build_vectors:
    input:
        per_tile_files("vectors/{tile}.parquet"),
    output:
        gpkg=results("map/degradation.gpkg"),
        parquet=results("map/degradation.parquet"),
    params:
        grid=get_map_grid,
    conda:
        "../../envs/geo.yaml"
    log:
        logs("build_vectors"),
    threads: 1
    resources:
        mem_mb=attempt_scaled(4000),
        runtime=attempt_scaled(60),
    script:
        "../../scripts/build_vectors.py"


use rule build_map as build_zone_map with:
    input:
        get_zone_predictions,
    output:
        map=results("map/{epsg}/degradation.tif"),
        style=results("map/{epsg}/degradation.qml"),
        areas=results("map/{epsg}/area_by_class.csv"),
    params:
        grid=get_zone_map_grid,
        scheme=get_class_scheme,
    log:
        logs("build_map/{epsg}"),
    wildcard_constraints:
        epsg="[0-9]{5}",


use rule plot_quicklook as plot_zone_quicklook with:
    input:
        map=results("map/{epsg}/degradation.tif"),
        optical=get_zone_optical,
    output:
        results("map/{epsg}/quicklook.png"),
    params:
        tiles=get_zone_tiles,
        scheme=get_class_scheme,
    log:
        logs("plot_quicklook/{epsg}"),
    wildcard_constraints:
        epsg="[0-9]{5}",


use rule build_vectors as build_zone_vectors with:
    input:
        get_zone_vectors,
    output:
        gpkg=results("map/{epsg}/degradation.gpkg"),
        parquet=results("map/{epsg}/degradation.parquet"),
    params:
        grid=get_zone_map_grid,
    log:
        logs("build_vectors/{epsg}"),
    wildcard_constraints:
        epsg="[0-9]{5}",


use rule build_pixel_map as build_zone_pixel_map with:
    input:
        get_zone_products,
    output:
        results("map/{epsg}/{product}.tif"),
    params:
        grid=get_zone_map_grid,
    log:
        logs("build_pixel_map/{epsg}/{product}"),
    wildcard_constraints:
        epsg="[0-9]{5}",
        product="probabilities|uncertainty|modality_weight",


use rule plot_modality_weight as plot_zone_modality_weight with:
    input:
        weights=results("map/{epsg}/modality_weight.tif"),
        classes=results("map/{epsg}/degradation.tif"),
    output:
        table=results("map/{epsg}/modality_weight_by_class.csv"),
        plot=results("map/{epsg}/modality_weight_by_class.png"),
    log:
        logs("plot_modality_weight/{epsg}"),
    wildcard_constraints:
        epsg="[0-9]{5}",
