# AOI-wide products: the class map COG, its area table and a quicklook.


rule build_map:
    input:
        get_tile_inputs("classes"),
    output:
        map=f"{RESULTS}/{{aoi}}/map/degradation.tif",
        areas=f"{RESULTS}/{{aoi}}/map/area_by_class.csv",
    params:
        grid=get_map_grid(),
    conda:
        "../../envs/geo.yaml"
    log:
        f"{RESULTS}/{{aoi}}/logs/build_map.log",
    threads: 1
    resources:
        mem_mb=4000,
    script:
        "../scripts/build_map.py"


rule plot_quicklook:
    input:
        map=f"{RESULTS}/{{aoi}}/map/degradation.tif",
        optical=get_tile_inputs("optical"),
    output:
        f"{RESULTS}/{{aoi}}/map/quicklook.png",
    conda:
        "../../envs/geo.yaml"
    params:
        months=len(MONTHS),
    log:
        f"{RESULTS}/{{aoi}}/logs/plot_quicklook.log",
    threads: 1
    resources:
        mem_mb=4000,
    script:
        "../scripts/plot_quicklook.py"
