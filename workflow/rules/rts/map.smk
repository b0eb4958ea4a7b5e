# Application through time: per site, every year's mask, polygons and figures; then the series, CO2 and plot.


rule map_rts_site:
    input:
        unpack(get_site_scenes),
        checkpoint=results("rts/models/primary.pt"),
    output:
        masks=expand(results("rts/maps/{site}/{year}.tif"), year=YEARS, allow_missing=True),
        gpkgs=expand(results("rts/polygons/{site}/{year}.gpkg"), year=YEARS, allow_missing=True),
        parquets=expand(results("rts/polygons/{site}/{year}.parquet"), year=YEARS, allow_missing=True),
        rows=results("rts/maps/{site}/rows.csv"),
    params:
        sites=site_params(),
        years=YEARS,
        threshold=RTS_CONFIG["threshold"],
        min_area_m2=RTS_CONFIG["min_area_m2"],
        device=config["device"],
    conda:
        "../../envs/torch.yaml"
    log:
        logs("map_rts_site/{site}"),
    threads: 1
    resources:
        mem_mb=attempt_scaled(4000),
        runtime=attempt_scaled(60),
    script:
        "../../scripts/map_rts_site.py"


rule summarize_rts:
    input:
        rows=expand(results("rts/maps/{site}/rows.csv"), site=list(SITES), allow_missing=True),
        metrics=results("rts/tables/metrics.json"),
        labels=get_labels_file,
    output:
        series=results("rts/series.csv"),
        co2=results("rts/co2.csv"),
        plot=results("rts/series.png"),
    params:
        sites=site_params(),
        aoi_bbox=list(AOI.bbox),
        series=RTS_CONFIG["series"],
        carbon=RTS_CONFIG["carbon"],
        min_area_m2=RTS_CONFIG["min_area_m2"],
    conda:
        "../../envs/geo.yaml"
    log:
        logs("summarize_rts"),
    threads: 1
    resources:
        mem_mb=attempt_scaled(2000),
        runtime=attempt_scaled(60),
    script:
        "../../scripts/summarize_rts.py"
