# The synthetic demo scene and its local STAC catalog (AOIs with a `demo` section only).


rule generate_demo_data:
    output:
        item_lists=expand(results("source/stac/items/{collection}.json"), collection=AOI.catalog.collections.values(),
                          allow_missing=True),
        collection_docs=expand(results("source/stac/collections/{collection}.json"),
                               collection=AOI.catalog.collections.values(), allow_missing=True),
        labels=results("source/labels.gpkg"),
        truth=results("source/truth.tif"),
    params:
        grid=get_map_grid,
        start=str(AOI.first_and_last_day()[0]),  # the period and the mapped `years`
        end=str(AOI.first_and_last_day()[1]),
        seed=DEMO_SETTINGS.get("seed", 42),
        history_years=DEMO_SETTINGS.get("history_years", 4),
        cell_size_m=DEMO_SETTINGS.get("cell_size_m", 1500.0),
        labeled_fraction=DEMO_SETTINGS.get("labeled_fraction", 0.7),
    conda:
        "../envs/geo.yaml"
    log:
        logs("generate_demo_data"),
    threads: 1
    resources:
        mem_mb=attempt_scaled(2000),
        runtime=attempt_scaled(30),
    script:
        "../scripts/generate_demo_data.py"
