"""Deterministic synthetic demo data: a permafrost scene seen by Sentinel-1, Sentinel-2 and a DEM.

The demo AOI lets the whole pipeline run offline. :func:`generate_demo_data` writes Planetary-Computer-shaped
STAC items and Cloud-Optimized GeoTIFFs for ``sentinel-1-rtc``, ``sentinel-2-l2a`` and ``cop-dem-glo-30``,
ground-truth label polygons, and the truth class map, all derived from one seeded synthetic scene
(:mod:`permafusion.demo.scene`).
"""

from __future__ import annotations

from permafusion.demo.generate import generate_demo_data

__all__ = ["generate_demo_data"]
