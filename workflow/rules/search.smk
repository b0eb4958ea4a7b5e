# Item search per sensor and month: new imagery for one month reruns that month's search
# (`--forcerun results/<aoi>/items/<sensor>/<month>.json`) and only what depends on it.
# Lists are saved unsigned; signing happens when composites read the pixels.


rule search_items:
    input:
        get_catalog_files,
    output:
        results("items/{sensor}/{month}.json"),
    params:
        search=get_month_search,
        allow_empty=True,
    group:
        "search"
    conda:
        "../envs/geo.yaml"
    log:
        logs("search_items/{sensor}/{month}"),
    threads: 1
    resources:
        mem_mb=attempt_scaled(1000),
        runtime=attempt_scaled(10),
    script:
        "../scripts/search.py"


rule check_items:
    input:
        get_month_item_lists,
    output:
        results("items/{sensor}_per_month.csv"),
    params:
        search=get_period_search,
        months=MONTHS,
    conda:
        "../envs/geo.yaml"
    log:
        logs("check_items/{sensor}"),
    threads: 1
    resources:
        mem_mb=attempt_scaled(1000),
        runtime=attempt_scaled(5),
    script:
        "../scripts/check_items.py"


rule search_dem:
    input:
        get_catalog_files,
    output:
        results("items/dem.json"),
    params:
        search=get_dem_search,
        allow_empty=False,
    conda:
        "../envs/geo.yaml"
    log:
        logs("search_dem"),
    threads: 1
    resources:
        mem_mb=attempt_scaled(1000),
        runtime=attempt_scaled(10),
    script:
        "../scripts/search.py"
