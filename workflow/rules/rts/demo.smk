# The synthetic thaw-slump scene, its local STAC folder and dated outlines (AOIs with a `demo` section).
if (CATALOG_PATH, LABELS) != (aoi_path("source", "stac"), aoi_path("source", "labels.gpkg")):
    raise WorkflowError(f"the thaw-slump demo writes its catalog and labels to {aoi_path('source', 'stac')} and "
                        f"{aoi_path('source', 'labels.gpkg')}: set `catalog.path` and `labels` in {AOI_FILE} to them")


rule generate_rts_demo:
    output:
        stac=directory(results("source/stac")),
        labels=results("source/labels.gpkg"),
    params:
        aoi_bbox=list(AOI.bbox),
        sites=SITES,
        years=YEARS,
        seed=DEMO_SETTINGS.get("seed", 42),
    conda:
        "../../envs/geo.yaml"
    log:
        logs("generate_rts_demo"),
    threads: 1
    resources:
        mem_mb=attempt_scaled(2000),
        runtime=attempt_scaled(60),
    script:
        "../../scripts/generate_rts_demo.py"
