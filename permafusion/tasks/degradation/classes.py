"""The degradation task's classes (seed 000): four permafrost states, code 0 no data.

Codes, names and colours are stable: they are written into every class map's GDAL metadata and colour
table, and a trained model's output channel k stands for code k + 1.
"""

from __future__ import annotations

from permafusion.core.classes import ClassScheme

DEGRADATION = ClassScheme(
    title="permafrost degradation class",
    names={
        1: "stable permafrost",
        2: "active-layer deepening",
        3: "thermokarst / retrogressive thaw slump",
        4: "complete degradation / talik",
    },
    # a colour-blind-safe palette
    colors={
        1: (43, 131, 186, 255),
        2: (171, 221, 164, 255),
        3: (253, 174, 97, 255),
        4: (215, 25, 28, 255),
    },
)
