"""Class schemes: the codes, names, colours and no-data code of a categorical task as one value.

The engine knows no task's classes. Metrics, losses, the bootstrap, label rasterization and map writing
receive a :class:`ClassScheme`; each task defines its own instance (the degradation task its four classes,
the thaw-slump task background and slump).

Conventions every scheme keeps, so that rasters, patch stores and model outputs agree without tables:
code 0 is no data (in maps) and unlabeled (in label rasters), never a class; the classes are the codes
1..K; a model's output channel ``k`` stands for class code ``k + 1``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

NODATA = 0

RGBA = tuple[int, int, int, int]

#: Colour of the no-data code in every scheme: fully transparent.
TRANSPARENT: RGBA = (0, 0, 0, 0)


@dataclass(frozen=True)
class ClassScheme:
    """Classes 1..K of a task, with their names and map colours; code 0 is no data.

    Attributes:
        title: what the classes describe, used as the map band's description ("permafrost degradation
            class").
        names: class code -> name, for codes 1..K in order.
        colors: class code -> RGBA colour of the map legend, for codes 1..K (no data is transparent).
        nodata_name: the name of code 0 in maps and tables.
    """

    title: str
    names: Mapping[int, str]
    colors: Mapping[int, RGBA] = field(default_factory=dict)
    nodata_name: str = "no data"

    def __post_init__(self) -> None:
        codes = list(self.names)
        if codes != list(range(1, len(codes) + 1)) or len(codes) < 2:
            raise ValueError(
                f"class scheme {self.title!r}: codes must be 1..K in order with K >= 2 (0 is no data), "
                f"got {codes}"
            )
        if set(self.colors) - set(codes) or any(len(c) != 4 for c in self.colors.values()):
            raise ValueError(f"class scheme {self.title!r}: colours must be RGBA tuples for codes {codes}")
        # frozen copies, so that a scheme cannot change under the code holding it
        object.__setattr__(self, "names", dict(self.names))
        object.__setattr__(
            self, "colors", {code: tuple(self.colors.get(code, (128, 128, 128, 255))) for code in codes}
        )

    def __hash__(self) -> int:
        return hash((self.title, tuple(self.names.items()), tuple(self.colors.items()), self.nodata_name))

    @property
    def nodata(self) -> int:
        return NODATA

    @property
    def codes(self) -> tuple[int, ...]:
        return tuple(self.names)

    @property
    def num_classes(self) -> int:
        return len(self.names)

    def name_of(self, code: int) -> str:
        """The name of a class code, no data included."""
        return self.nodata_name if code == NODATA else self.names[code]

    def colormap(self) -> dict[int, RGBA]:
        """RGBA per code, no data included (transparent): a GDAL colour table."""
        return {NODATA: TRANSPARENT, **self.colors}

    def check_codes(self, codes: Any, *, where: str) -> None:
        """Raise a ValueError naming ``where`` if any code is not a class of the scheme (0 is allowed)."""
        unknown = sorted({int(c) for c in codes} - {NODATA, *self.codes})
        if unknown:
            raise ValueError(
                f"{where} holds codes {unknown}, which are not classes of {self.title!r}: "
                f"allowed are {list(self.codes)} (and {NODATA} for unlabeled)"
            )

    def to_mapping(self) -> dict[str, Any]:
        """A JSON-ready (and ``torch.load(weights_only=True)``-safe) form, e.g. for a model card."""
        return {
            "title": self.title,
            "names": {str(code): name for code, name in self.names.items()},
            "colors": {str(code): list(color) for code, color in self.colors.items()},
            "nodata": NODATA,
            "nodata_name": self.nodata_name,
        }

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> ClassScheme:
        """The scheme of :meth:`to_mapping`."""
        return cls(
            title=str(values["title"]),
            # sorted by code: a JSON writer may have ordered the keys as strings ("1", "10", "2")
            names={
                int(code): str(name)
                for code, name in sorted(values["names"].items(), key=lambda kv: int(kv[0]))
            },
            colors={int(code): tuple(int(v) for v in c) for code, c in values.get("colors", {}).items()},  # type: ignore[misc]
            nodata_name=str(values.get("nodata_name", "no data")),
        )
