# AOI-wide products: the class map COG, its area table and a quicklook. An AOI of several UTM zones has
# one map per zone, map/<EPSG>/... (build_zone_map, plot_zone_quicklook), each on its zone's grid.


rule build_map:
    input:
        per_tile_files("predict/{tile}.tif"),
    output:
        map=results("map/degradation.tif"),
        style=results("map/degradation.qml"),
        areas=results("map/area_by_class.csv"),
    params:
        grid=get_map_grid,
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
