"""The thaw-slump task's classes: background and slump, code 0 unlabeled / no data.

A model's single sigmoid output is the probability of code 2 (slump); maps hold 1 or 2, and 0 where the
scene had no valid pixel.
"""

from __future__ import annotations

from permafusion.core.classes import ClassScheme

RTS = ClassScheme(
    title="retrogressive thaw slump",
    names={1: "background", 2: "slump"},
    colors={1: (230, 230, 230, 255), 2: (200, 40, 40, 255)},
)

BACKGROUND, SLUMP = 1, 2
