# Per summer: the item search; per site and summer: the scene closest to the target date; per site: slope;
# then every labelled image cut into tiles.


rule search_summer:
    input:
        get_catalog_files,
    output:
        results("items/optical/summer_{year}.json"),
    params:
        search=get_summer_search,
        allow_empty=True,
    conda:
        "../../envs/geo.yaml"
    log:
        logs("search_summer/{year}"),
    threads: 1
    resources:
        mem_mb=attempt_scaled(1000),
        runtime=attempt_scaled(60),
    script:
        "../../scripts/search.py"


rule select_site_scene:
    input:
        item_list=results("items/optical/summer_{year}.json"),
    output:
        tif=results("rts/scenes/{site}/{year}.tif"),
        info=results("rts/scenes/{site}/{year}.json"),
    params:
        sites=site_params(),
        rule={k: RTS_CONFIG["scene"][k] for k in ("target", "method", "max_cloud", "min_clear", "mask_classes")},
        months=get_summer_months,
        signing=AOI.catalog.signing,
    conda:
        "../../envs/geo.yaml"
    log:
        logs("select_site_scene/{site}/{year}"),
    threads: 1
    resources:
        mem_mb=attempt_scaled(2000),
        runtime=attempt_scaled(60),
    script:
        "../../scripts/select_site_scene.py"


rule build_site_terrain:
    input:
        item_list=results("items/dem.json"),
    output:
        results("rts/terrain/{site}.tif"),
    params:
        sites=site_params(),
        slope_window=RTS_CONFIG["slope_window"],
        signing=AOI.catalog.signing,
    conda:
        "../../envs/geo.yaml"
    log:
        logs("build_site_terrain/{site}"),
    threads: 1
    resources:
        mem_mb=attempt_scaled(2000),
        runtime=attempt_scaled(60),
    script:
        "../../scripts/build_site_terrain.py"


rule build_rts_tiles:
    input:
        labels=get_labels_file,
        tifs=scene_files("tif"),
        infos=scene_files("json"),
        terrains=site_terrains(),
    output:
        tiles=results("rts/tiles.npz"),
        images=results("rts/images.json"),
    params:
        sites=site_params(),
        years=YEARS,
        aoi_bbox=list(AOI.bbox),
        settings={k: RTS_CONFIG[k] for k in ("label_years", "test_year", "tile_size", "min_valid")},
    conda:
        "../../envs/geo.yaml"
    log:
        logs("build_rts_tiles"),
    threads: 1
    resources:
        mem_mb=attempt_scaled(4000),
        runtime=attempt_scaled(60),
    script:
        "../../scripts/build_rts_tiles.py"
