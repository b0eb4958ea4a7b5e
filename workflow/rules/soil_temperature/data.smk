# Inputs of the soil_temperature task: the synthetic network (demo AOIs), ERA5-Land per station (AOIs
# without a drivers table), and the series every model and baseline reads.


rule generate_soiltemp_demo:
    output:
        stations=results("source/stations.csv"),
        observations=results("source/observations.csv"),
        drivers=results("source/drivers.csv"),
    params:
        start=SOIL_START,
        end=SOIL_END,
        stations=DEMO_SETTINGS.get("stations", 18),
        seed=DEMO_SETTINGS.get("seed", 42),
    conda:
        "../../envs/torch.yaml"
    log:
        logs("generate_soiltemp_demo"),
    threads: 1
    resources:
        mem_mb=attempt_scaled(2000),
        runtime=attempt_scaled(60),
    script:
        "../../scripts/generate_soiltemp_demo.py"


rule fetch_era5_land:
    output:
        results("era5/{station}.nc"),
    params:
        coordinates=get_station_coordinates,
        source=SOIL["era5"]["source"],
        variables=SOIL["variables"],
        start=SOIL_START,
        end=SOIL_END,
    conda:
        "../../envs/torch.yaml"
    log:
        logs("fetch_era5_land/{station}"),
    threads: 1
    resources:
        mem_mb=attempt_scaled(1000),
        runtime=attempt_scaled(60),
        cds=1,
    retries: 2
    script:
        "../../scripts/fetch_era5_land.py"


rule build_era5_drivers:
    input:
        stations=SOIL_STATIONS,
        files=get_era5_files,
    output:
        results("drivers/era5_land.csv"),
    params:
        variables=SOIL["variables"],
    conda:
        "../../envs/torch.yaml"
    log:
        logs("build_era5_drivers"),
    threads: 1
    resources:
        mem_mb=attempt_scaled(4000),
        runtime=attempt_scaled(60),
    script:
        "../../scripts/build_era5_drivers.py"


rule build_series:
    input:
        stations=SOIL_STATIONS,
        observations=SOIL_OBSERVATIONS or [],
        drivers=SOIL_DRIVERS,
    output:
        arrays=results("series/series.npz"),
        names=results("series/series.json"),
    params:
        variables=SOIL["variables"],
        start=SOIL_START,
        end=SOIL_END,
        band_edges=SOIL["band_edges"],
        reference_years=SOIL["reference_years"],
        max_gap_days=SOIL["max_gap_days"],
    conda:
        "../../envs/torch.yaml"
    log:
        logs("build_series"),
    threads: 1
    resources:
        mem_mb=attempt_scaled(4000),
        runtime=attempt_scaled(60),
    script:
        "../../scripts/build_series.py"
