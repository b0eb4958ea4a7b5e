# Projections to 2100 under delta-changed drivers with one trained model.


rule project_scenarios:
    input:
        checkpoint=get_scenario_checkpoint,
        series=results("series/series.npz"),
        names=results("series/series.json"),
    output:
        annual=results("scenarios/annual.csv"),
        alt=results("scenarios/alt.csv"),
        summary=results("scenarios/summary.json"),
        plot=results("plots/scenarios.png"),
    params:
        scenarios=SOIL["scenarios"],
        device=config["device"],
    conda:
        "../../envs/torch.yaml"
    log:
        logs("project_scenarios"),
    benchmark:
        benchmarks("project_scenarios")
    threads: 2
    resources:
        mem_mb=attempt_scaled(4000),
        runtime=attempt_scaled(60),
    script:
        "../../scripts/project_scenarios.py"
