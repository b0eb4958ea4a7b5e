"""Permafrost degradation mapping (seed 000, PermaFusionNet): 4 classes from monthly Sentinel-1 and
Sentinel-2 composites."""
