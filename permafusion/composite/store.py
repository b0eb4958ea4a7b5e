"""Composite Datasets on disk: one Zarr store per tile, sensor and period, written atomically."""

from __future__ import annotations

import shutil
from pathlib import Path

import rioxarray  # noqa: F401  (registers the .rio accessor)
import xarray as xr


def write_composite(ds: xr.Dataset, path: str | Path) -> Path:
    """Write ``ds`` to a Zarr store at ``path`` atomically.

    The store is written to ``<path>.tmp`` and renamed into place, so readers (and Snakemake) never see
    a half-written store; an existing store at ``path`` is replaced.
    """
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    encoding = {name: {"chunks": _chunks(ds[name])} for name in ds.data_vars}
    ds.to_zarr(tmp, mode="w", consolidated=True, encoding=encoding)
    if path.exists():
        old = path.with_name(path.name + ".old")
        path.rename(old)
        tmp.rename(path)
        shutil.rmtree(old)
    else:
        tmp.rename(path)
    return path


def _chunks(var: xr.DataArray) -> tuple[int, ...]:
    """One time step, all bands, 512 x 512 pixels per chunk."""
    sizes = {"time": 1, "y": 512, "x": 512}
    return tuple(min(sizes.get(str(dim), n), n) for dim, n in zip(var.dims, var.shape, strict=True))


def open_composite(path: str | Path) -> xr.Dataset:
    """Open a composite store (lazily) with its CRS restored as ``ds.rio.crs``.

    Raises:
        FileNotFoundError: if there is no store at ``path``.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no composite store at {path}; run the composite rule for it first")
    ds = xr.open_zarr(path, consolidated=True)
    if "spatial_ref" in ds.coords:
        ds = ds.rio.write_crs(ds["spatial_ref"].attrs.get("crs_wkt") or f"EPSG:{ds.attrs['epsg']}")
    else:
        ds = ds.rio.write_crs(f"EPSG:{ds.attrs['epsg']}")
    return ds
