# Ground truth to class rasters on each tile's grid, with the classes of the AOI's task.


rule rasterize_labels:
    input:
        labels=get_labels_file,
    output:
        results("labels/{tile}.tif"),
    params:
        grid=get_tile_grid,
        scheme=get_class_scheme,
    conda:
        "../envs/geo.yaml"
    log:
        logs("rasterize_labels/{tile}"),
    threads: 1
    resources:
        mem_mb=attempt_scaled(2000),
        runtime=attempt_scaled(30),
    script:
        "../scripts/rasterize_labels.py"
