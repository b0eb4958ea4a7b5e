"""The models, training and prediction import without the geospatial stack.

GPU nodes (and the project's GPU check machine) often have PyTorch, numpy and pandas but no GDAL,
rasterio, zarr or pystac; the training and inference code must import there, and read patches or
composites only where it is given files.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

GEOSPATIAL = (
    "rasterio",
    "zarr",
    "pystac",
    "pystac_client",
    "geopandas",
    "shapely",
    "pyproj",
    "affine",
    "stackstac",
    "snakemake",
    "rioxarray",
    "planetary_computer",
    "rustac",
    "pyogrio",
    "dask",
)


def _import_without_geostack(*modules: str) -> subprocess.CompletedProcess[str]:
    script = textwrap.dedent(
        f"""
        import importlib, sys

        class Block:
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in {GEOSPATIAL!r}:
                    raise ImportError("not installed here: " + name)
                return None

        sys.meta_path.insert(0, Block())
        for module in {modules!r}:
            importlib.import_module(module)
        """
    )
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)


def test_training_and_prediction_import_without_the_geospatial_stack() -> None:
    result = _import_without_geostack(
        "permafusion.tasks.degradation.train",
        "permafusion.tasks.degradation.predict",
        "permafusion.tasks.degradation.evaluate",
        "permafusion.learn.distributed",
        "permafusion.learn.loop",
        # what benchmarks/gpu_check.sh times of the other tasks
        "permafusion.tasks.rts.unet",
        "permafusion.tasks.rts.losses",
        "permafusion.tasks.soiltemp.models",
        "permafusion.learn.regression",
    )
    assert result.returncode == 0, result.stderr[-3000:]


def test_the_blocker_blocks() -> None:
    # the check above can fail: a module that needs rasterio does not import under the same blocker
    result = _import_without_geostack("permafusion.geo.grid")
    assert result.returncode != 0 and "not installed here" in result.stderr
