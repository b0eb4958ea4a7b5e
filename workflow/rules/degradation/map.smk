# AOI-wide products: the class map COG, its area table, its polygons and a quicklook.
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
        mem_mb=4000,
    script:
        "../../scripts/plot_quicklook.py"


rule vectorize_tile:
    input:
        classes=results("predict/{tile}.tif"),
        probabilities=results("predict/{tile}_probabilities.tif"),
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
        mem_mb=4000,
    script:
        "../../scripts/vectorize_tile.py"


rule build_vectors:
    input:
        per_tile_files("vectors/{tile}.parquet"),
    output:
        gpkg=results("map/degradation.gpkg"),
        parquet=results("map/degradation.parquet"),
    params:
        grid=get_map_grid(),
    conda:
        "../../envs/geo.yaml"
    log:
        logs("build_vectors"),
    threads: 1
    resources:
        mem_mb=4000,
    script:
        "../../scripts/build_vectors.py"
