import datetime as dt

import pytest

from permafusion.geo.aoi import AOIError, aoi_from_mapping

BASE = {
    "name": "x",
    "bbox": [92.8, 34.7, 93.0, 34.9],
    "start": "2023-01-01",
    "end": "2023-12-31",
    "catalog": {
        "kind": "stac_api",
        "url": "https://example.org/stac",
        "collections": {"sar": "a", "optical": "b"},
    },
}


def test_months_and_datetime_range():
    aoi = aoi_from_mapping(BASE)
    assert aoi.months()[0] == "2023-01" and aoi.months()[-1] == "2023-12" and len(aoi.months()) == 12
    assert aoi.datetime_range() == "2023-01-01T00:00:00Z/2023-12-31T23:59:59Z"
    assert aoi.datetime_range("2023-02") == "2023-02-01T00:00:00Z/2023-02-28T23:59:59Z"
    assert aoi.datetime_range("2023-12") == "2023-12-01T00:00:00Z/2023-12-31T23:59:59Z"
    clipped = aoi_from_mapping({**BASE, "start": "2023-01-15", "end": "2023-03-10"})
    assert clipped.datetime_range("2023-01") == "2023-01-15T00:00:00Z/2023-01-31T23:59:59Z"
    assert clipped.datetime_range("2023-03") == "2023-03-01T00:00:00Z/2023-03-10T23:59:59Z"
    with pytest.raises(AOIError, match="outside the period"):
        clipped.datetime_range("2023-04")
    assert aoi_from_mapping({**BASE, "start": dt.date(2022, 11, 5), "end": "2023-02-01"}).months() == [
        "2022-11",
        "2022-12",
        "2023-01",
        "2023-02",
    ]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"bbox": [192.8, 34.7, 193.0, 34.9]}, "longitudes"),
        ({"bbox": [92.8, 34.7, 93.0, 134.9]}, "latitudes"),
        ({"bbox": [93.0, 34.7, 92.8, 34.9]}, "inverted"),
        ({"bbox": [170.0, 60.0, -170.0, 70.0]}, r"crosses the antimeridian.*\[170.0, 60.0, 180, 70.0\]"),
        ({"bbox": [10.0, 84.5, 11.0, 85.0]}, "UTM range"),
        ({"end": "2022-12-31"}, "not after `start`"),
        ({"start": "2023-13-01"}, "YYYY-MM-DD"),
        ({"catalog": {"kind": "stac_api", "collections": {}}}, "catalog.url"),
    ],
)
def test_bad_aoi_settings_name_what_to_fix(change, message):
    with pytest.raises(AOIError, match=message) as error:
        aoi_from_mapping({**BASE, **change}, source="config/aois/x.yaml")
    assert "config/aois/x.yaml" in str(error.value) or message == "YYYY-MM-DD"


def test_full_extent_needs_full_bbox():
    with pytest.raises(AOIError, match="full_bbox"):
        aoi_from_mapping(BASE, extent="full")
    assert aoi_from_mapping({**BASE, "full_bbox": [73, 26, 105, 40]}, extent="full").bbox == (73, 26, 105, 40)
