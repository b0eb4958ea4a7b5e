"""Change between two class maps of the same grid: a transition map and a transition table (km²).

A transition from class ``a`` to class ``b`` of a K-class scheme gets the code ``(a - 1) * K + b``
(1..K², 0 where either map has no data), so the change map is itself a class map: a uint8 COG with a
name (``"a -> b"``) and a colour per code, written by :func:`permafusion.products.maps.write_class_cog`.
Unchanged pixels are drawn in a pale version of their class's colour, changed ones in the colour of the
class they changed to.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from permafusion.core.classes import NODATA, ClassScheme


def transition_scheme(scheme: ClassScheme, *, title: str) -> ClassScheme:
    """The K² transitions of a K-class scheme as a class scheme (code ``(a - 1) * K + b``)."""
    k = scheme.num_classes
    names, colors = {}, {}
    for a in scheme.codes:
        for b in scheme.codes:
            code = (a - 1) * k + b
            names[code] = f"{scheme.name_of(a)} -> {scheme.name_of(b)}"
            r, g, bl, alpha = scheme.colors[b]
            colors[code] = (
                (
                    (r + 255) // 2,
                    (g + 255) // 2,
                    (bl + 255) // 2,
                    alpha,  # unchanged: pale
                )
                if a == b
                else (r, g, bl, alpha)
            )
    return ClassScheme(title=title, names=names, colors=colors, nodata_name=scheme.nodata_name)


def transition_codes(before: np.ndarray, after: np.ndarray, *, num_classes: int) -> np.ndarray:
    """uint8 transition codes of two class maps (see the module); 0 where either is no data.

    Raises:
        ValueError: for maps of different shapes, codes above ``num_classes`` or more than 15 classes (the
            codes would not fit a byte).
    """
    if before.shape != after.shape:
        raise ValueError(f"the class maps differ in shape: {before.shape} and {after.shape}")
    if num_classes * num_classes > 255:
        raise ValueError(f"{num_classes} classes have {num_classes**2} transitions, more than a byte holds")
    for name, codes in (("first", before), ("second", after)):
        if codes.size and int(codes.max()) > num_classes:
            raise ValueError(f"the {name} map holds code {int(codes.max())}, above the {num_classes} classes")
    a, b = before.astype(np.int32), after.astype(np.int32)
    codes = (a - 1) * num_classes + b
    codes[(a == NODATA) | (b == NODATA)] = NODATA
    return codes.astype(np.uint8)


def transition_table(
    before: np.ndarray, after: np.ndarray, *, resolution: float, scheme: ClassScheme
) -> pd.DataFrame:
    """Pixels and km² per (class before, class after) pair, every pair listed; no-data pixels left out.

    Returns:
        Columns ``from_code``, ``from_class``, ``to_code``, ``to_class``, ``pixels``, ``area_km2``,
        ``changed``; the K² pairs in code order.
    """
    k = scheme.num_classes
    codes = transition_codes(before, after, num_classes=k)
    counts = np.bincount(codes.ravel(), minlength=k * k + 1)
    rows = [
        {
            "from_code": a,
            "from_class": scheme.name_of(a),
            "to_code": b,
            "to_class": scheme.name_of(b),
            "pixels": int(counts[(a - 1) * k + b]),
        }
        for a in scheme.codes
        for b in scheme.codes
    ]
    table = pd.DataFrame(rows)
    table["area_km2"] = (table["pixels"] * resolution * resolution / 1e6).round(4)
    table["changed"] = table["from_code"] != table["to_code"]
    return table


def write_change_products(
    before: str | Path,
    after: str | Path,
    *,
    scheme: ClassScheme,
    title: str,
    map_path: str | Path,
    style_path: str | Path,
    table_path: str | Path,
) -> pd.DataFrame:
    """Compare two class map COGs of one grid: write the change map (COG), its QGIS style and the table.

    Returns:
        The transition table (see :func:`transition_table`).

    Raises:
        ValueError: naming both files when they are not on the same grid.
    """
    from permafusion.core.files import write_csv
    from permafusion.products.maps import read_class_map, write_class_cog, write_class_style

    first, grid = read_class_map(before)
    second, second_grid = read_class_map(after)
    if second_grid != grid:
        raise ValueError(
            f"{before} and {after} are on different grids ({grid} and {second_grid}): rebuild both maps "
            "with the same AOI settings"
        )
    change = transition_scheme(scheme, title=title)
    write_class_cog(
        transition_codes(first, second, num_classes=scheme.num_classes), grid, map_path, scheme=change
    )
    write_class_style(change, style_path)
    table = transition_table(first, second, resolution=grid.resolution, scheme=scheme)
    write_csv(table, table_path)
    return table
