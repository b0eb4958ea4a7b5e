# Several years (`years:` in the AOI file): each calendar year is mapped from its own January..December
# composites with the same model, and consecutive years are compared (change map and transition table).


use rule predict_tile as predict_tile_year with:
    input:
        checkpoint=get_checkpoint,
        calibration=get_calibration,
        sar=get_year_composites("sar"),
        optical=get_year_composites("optical"),
        context_sar=get_context_composites("sar"),
        context_optical=get_context_composites("optical"),
    output:
        classes=results("predict/{year}/{tile}.tif"),
        probabilities=results("predict/{year}/{tile}.probabilities.tif"),
        uncertainty=results("predict/{year}/{tile}.uncertainty.tif"),
        modality_weight=results("predict/{year}/{tile}.modality_weight.tif"),
    params:
        grid=get_tile_grid,
        position=get_tile_position,
        context=get_tile_context,
        months=lambda wildcards: model_steps(AOI.year_months(int(wildcards.year))),
        time_steps=_STEPS,
        step_months=_STEP_MONTHS,
        gap_fill={sensor: config[sensor]["gap_fill"] for sensor in ("sar", "optical")},
        settings=config["predict"],
        device=config["device"],
    log:
        logs("predict_tile/{year}/{tile}"),


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
        mem_mb=attempt_scaled(4000),
        runtime=attempt_scaled(60),
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
        mem_mb=attempt_scaled(4000),
        runtime=attempt_scaled(60),
    script:
        "../../scripts/build_change_map.py"
