# Item search per sensor. Lists are saved unsigned; signing happens when composites read the pixels.


rule search_sar:
    input:
        get_catalog_files,
    output:
        f"{RESULTS}/{{aoi}}/items/sar.json",
    params:
        search=get_search_params("sar"),
    conda:
        "../../envs/geo.yaml"
    log:
        f"{RESULTS}/{{aoi}}/logs/search_sar.log",
    threads: 1
    resources:
        mem_mb=1000,
    script:
        "../scripts/search.py"


rule search_optical:
    input:
        get_catalog_files,
    output:
        f"{RESULTS}/{{aoi}}/items/optical.json",
    params:
        search=get_search_params("optical"),
    conda:
        "../../envs/geo.yaml"
    log:
        f"{RESULTS}/{{aoi}}/logs/search_optical.log",
    threads: 1
    resources:
        mem_mb=1000,
    script:
        "../scripts/search.py"


rule search_dem:
    input:
        get_catalog_files,
    output:
        f"{RESULTS}/{{aoi}}/items/dem.json",
    params:
        search=get_search_params("dem"),
    conda:
        "../../envs/geo.yaml"
    log:
        f"{RESULTS}/{{aoi}}/logs/search_dem.log",
    threads: 1
    resources:
        mem_mb=1000,
    script:
        "../scripts/search.py"
