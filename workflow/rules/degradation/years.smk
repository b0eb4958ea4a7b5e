# Several years (`years:` in the AOI file): each calendar year is mapped from its own January..December
# composites with the same model, and consecutive years are compared (change map and transition table).


rule predict_tile_year:
    input:
        checkpoint=get_checkpoint,
        sar=get_year_composites("sar"),
        optical=get_year_composites("optical"),
    output:
        classes=results("predict/{year}/{tile}.tif"),
        probabilities=results("predict/{year}/{tile}_probabilities.tif"),
    params:
        grid=get_tile_grid,
        position=get_tile_position,
        time_steps=config["patches"]["time_steps"],
        gap_fill={sensor: config[sensor]["gap_fill"] for sensor in ("sar", "optical")},
        settings=config["predict"],
        device=config["device"],
    conda:
        "../../envs/torch.yaml"
    log:
        logs("predict_tile/{year}/{tile}"),
    threads: 4
    resources:
        mem_mb=8000,
    script:
        "../../scripts/predict_tile.py"


rule build_year_map:
    input:
        get_year_tile_maps,
    output:
        map=results("map/{year}/degradation.tif"),
        style=results("map/{year}/degradation.qml"),
        areas=report(results("map/{year}/area_by_class.csv"), caption="../../report/year_area_by_class.rst",
                     category="Change", subcategory="{year}"),
    params:
        grid=get_map_grid,
        scheme=get_class_scheme,
    conda:
        "../../envs/geo.yaml"
    log:
        logs("build_map/{year}"),
    threads: 1
    resources:
        mem_mb=4000,
    script:
        "../../scripts/build_map.py"


rule build_change_map:
    input:
        before=results("map/{year}/degradation.tif"),
        after=results("map/{later}/degradation.tif"),
    output:
        map=results("map/change/{year}_{later}.tif"),
        style=results("map/change/{year}_{later}.qml"),
        transitions=report(results("map/change/{year}_{later}_transitions.csv"), caption="../../report/transitions.rst",
                           category="Change", subcategory="{year} -> {later}"),
    params:
        scheme=get_class_scheme,
    conda:
        "../../envs/geo.yaml"
    log:
        logs("build_change_map/{year}_{later}"),
    threads: 1
    resources:
        mem_mb=4000,
    script:
        "../../scripts/build_change_map.py"
