"""Rasters on a processing tile's grid from STAC items: monthly composites and terrain.

- :func:`build_sar_composite`: Sentinel-1 RTC -> monthly linear-power mean, Lee filter, dB.
- :func:`build_optical_composite`: Sentinel-2 L2A -> harmonized, SCL-masked monthly median reflectance.
- :func:`write_composite` / :func:`open_composite`: Zarr stores.

Modules: ``settings`` (validated settings), ``sar`` and ``optical`` (the arithmetic), ``sortnet``
(the median's compiled sort), ``mosaic`` (one acquisition, several items), ``lattice`` (window reads
of assets on the grid's lattice), ``read`` (stackstac onto a grid, read errors, signing), ``blocks``
(reading and reducing block by block), ``dataset`` (the output contract), ``store`` (Zarr I/O,
streamed or whole), ``build`` (the month loop), ``job`` (one tile-month job of the workflow),
``terrain`` (elevation and slope from DEM items).
"""

from permafusion.composite.build import build_optical_composite, build_sar_composite
from permafusion.composite.dataset import tile_grid
from permafusion.composite.read import AssetReadError
from permafusion.composite.settings import OpticalSettings, SarSettings
from permafusion.composite.store import open_composite, write_composite

__all__ = [
    "AssetReadError",
    "OpticalSettings",
    "SarSettings",
    "build_optical_composite",
    "build_sar_composite",
    "open_composite",
    "tile_grid",
    "write_composite",
]
