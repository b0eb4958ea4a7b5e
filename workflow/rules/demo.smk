# The synthetic demo scene and its local STAC catalog (AOIs with a `demo` section only).


rule generate_demo_data:
    output:
        item_lists=expand(f"{RESULTS}/{{{{aoi}}}}/source/stac/items/{{collection}}.json",
                     collection=AOI.catalog.collections.values()),
        collection_docs=expand(f"{RESULTS}/{{{{aoi}}}}/source/stac/collections/{{collection}}.json",
                           collection=AOI.catalog.collections.values()),
        labels=f"{RESULTS}/{{aoi}}/source/labels.gpkg",
        truth=f"{RESULTS}/{{aoi}}/source/truth.tif",
    params:
        grid=get_map_grid(),
        start=str(AOI.start),
        end=str(AOI.end),
        seed=AOI_SETTINGS.get("demo", {}).get("seed", 42),
    conda:
        "../../envs/geo.yaml"
    log:
        f"{RESULTS}/{{aoi}}/logs/generate_demo_data.log",
    threads: 1
    resources:
        mem_mb=2000,
    script:
        "../scripts/generate_demo_data.py"
