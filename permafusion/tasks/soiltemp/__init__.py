"""Soil temperature at depth (seed 002): stations, ERA5-Land or user drivers, sliding windows, sequence
models, baselines, evaluation and scenario projections."""
