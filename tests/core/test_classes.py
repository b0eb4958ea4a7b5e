"""Class schemes: codes 1..K, names and colours, the no-data code 0, and the mapping form."""

from __future__ import annotations

import json

import numpy as np
import pytest

from permafusion.core.classes import NODATA, TRANSPARENT, ClassScheme

SLUMPS = ClassScheme(
    title="thaw slump",
    names={1: "background", 2: "slump"},
    colors={1: (230, 230, 230, 255), 2: (200, 40, 40, 255)},
)


def test_codes_names_and_defaults() -> None:
    assert SLUMPS.codes == (1, 2) and SLUMPS.num_classes == 2 and SLUMPS.nodata == NODATA == 0
    assert SLUMPS.name_of(2) == "slump" and SLUMPS.name_of(0) == "no data"
    plain = ClassScheme(title="t", names={1: "a", 2: "b", 3: "c"}, colors={2: (1, 2, 3, 4)}, nodata_name="x")
    assert plain.colors == {1: (128, 128, 128, 255), 2: (1, 2, 3, 4), 3: (128, 128, 128, 255)}
    assert plain.name_of(0) == "x"


@pytest.mark.parametrize(
    "names",
    [
        {0: "unlabeled", 1: "a", 2: "b"},  # 0 is no data, never a class
        {1: "a", 3: "b"},  # a gap
        {2: "b", 1: "a"},  # out of order
        {1: "only"},  # one class is no classification
        {},
    ],
)
def test_codes_must_be_1_to_k(names: dict[int, str]) -> None:
    with pytest.raises(ValueError, match=r"'bad'.*codes must be 1\.\.K"):
        ClassScheme(title="bad", names=names)


@pytest.mark.parametrize("colors", [{3: (0, 0, 0, 255)}, {1: (0, 0, 0)}, {0: (0, 0, 0, 0)}])
def test_colours_must_be_rgba_of_classes(colors: dict[int, tuple[int, ...]]) -> None:
    with pytest.raises(ValueError, match="colours must be RGBA"):
        ClassScheme(title="bad", names={1: "a", 2: "b"}, colors=colors)  # type: ignore[arg-type]


def test_scheme_keeps_its_own_copies() -> None:
    names = {1: "a", 2: "b"}
    scheme = ClassScheme(title="t", names=names)
    names[2] = "changed"
    assert scheme.names[2] == "b"


def test_colormap_has_transparent_nodata() -> None:
    colormap = SLUMPS.colormap()
    assert colormap[0] == TRANSPARENT == (0, 0, 0, 0)
    assert colormap[1] == (230, 230, 230, 255) and colormap[2] == (200, 40, 40, 255)
    assert list(colormap) == [0, 1, 2]


def test_mapping_round_trip_also_through_json() -> None:
    mapping = SLUMPS.to_mapping()
    assert mapping["nodata"] == 0 and mapping["names"] == {"1": "background", "2": "slump"}
    assert ClassScheme.from_mapping(mapping) == SLUMPS
    assert ClassScheme.from_mapping(json.loads(json.dumps(mapping))) == SLUMPS
    bare = ClassScheme.from_mapping({"title": "t", "names": {"1": "a", "2": "b"}})
    assert bare.nodata_name == "no data" and bare.colors[1] == (128, 128, 128, 255)


def test_check_codes_allows_classes_and_nodata_and_names_the_place() -> None:
    SLUMPS.check_codes(np.array([[0, 1], [2, 2]], dtype=np.uint8).ravel(), where="labels.tif")
    SLUMPS.check_codes([], where="nothing")
    with pytest.raises(ValueError, match=r"labels\.tif holds codes \[3, 7\].*'thaw slump'.*\[1, 2\]"):
        SLUMPS.check_codes(np.array([0, 1, 3, 7, 3]), where="labels.tif")
