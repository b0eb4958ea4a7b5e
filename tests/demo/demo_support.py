"""Helpers shared by the demo tests (a uniquely named module, so imports never clash with other conftests)."""

from __future__ import annotations

import datetime as dt

from permafusion.geo.grid import GridSpec, grid_for_bbox

#: A 2.56 km square on the Tibetan plateau (UTM 46N), 256 x 256 pixels at 10 m.
SMALL_SIZE_PX = 256
#: Crosses the 2022-01-25 processing-baseline change and the empty Dec/Jan optical months.
PERIOD = (dt.date(2021, 11, 1), dt.date(2022, 2, 28))


def small_grid() -> GridSpec:
    origin = grid_for_bbox((92.90, 34.82, 92.93, 34.85))
    x0, y0 = origin.bounds[0], origin.bounds[1]
    return GridSpec(origin.epsg, (x0, y0, x0 + 10.0 * SMALL_SIZE_PX, y0 + 10.0 * SMALL_SIZE_PX))
