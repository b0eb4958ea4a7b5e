"""Degradation class codes shared by labels, patches, models and maps.

Code 0 is "no data" in maps and "unlabeled" in label rasters; it is never a class the model predicts.
The model's output channel ``k`` stands for class code ``k + 1``.
"""

from __future__ import annotations

NODATA = 0

CLASS_NAMES: dict[int, str] = {
    1: "stable permafrost",
    2: "active-layer deepening",
    3: "thermokarst / retrogressive thaw slump",
    4: "complete degradation / talik",
}

#: RGBA colours of the map legend (a colour-blind-safe palette).
CLASS_COLORS: dict[int, tuple[int, int, int, int]] = {
    0: (0, 0, 0, 0),
    1: (43, 131, 186, 255),
    2: (171, 221, 164, 255),
    3: (253, 174, 97, 255),
    4: (215, 25, 28, 255),
}

NUM_CLASSES = len(CLASS_NAMES)
CLASS_CODES: tuple[int, ...] = tuple(CLASS_NAMES)
