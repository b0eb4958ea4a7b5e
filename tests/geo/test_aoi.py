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


def test_mapped_years_add_their_calendar_months_to_the_imagery_needed():
    aoi = aoi_from_mapping({**BASE, "start": "2023-03-15", "years": [2019, 2023]})
    assert aoi.years == (2019, 2023) and aoi.months()[0] == "2023-03"
    assert aoi.all_months() == [f"{y}-{m:02d}" for y in (2019, 2023) for m in range(1, 13)]
    assert aoi.first_and_last_day() == (dt.date(2019, 1, 1), dt.date(2023, 12, 31))
    assert aoi.datetime_range("2019-02") == "2019-02-01T00:00:00Z/2019-02-28T23:59:59Z"
    # a month of the period and of a mapped year is read whole: the year's map uses the whole month
    assert aoi.datetime_range("2023-03") == "2023-03-01T00:00:00Z/2023-03-31T23:59:59Z"
    with pytest.raises(AOIError, match="outside the period .* and the `years`"):
        aoi.datetime_range("2020-05")
    assert aoi_from_mapping(BASE).first_and_last_day() == (dt.date(2023, 1, 1), dt.date(2023, 12, 31))


@pytest.mark.parametrize("years", [[2023], [2023, 2019], [2019, 2019]])
def test_years_must_be_two_or_more_in_order(years):
    with pytest.raises(AOIError, match=r"`years` .* in config/aois/x.yaml .* increasing order"):
        aoi_from_mapping({**BASE, "years": years}, source="config/aois/x.yaml")


def test_full_extent_needs_full_bbox():
    with pytest.raises(AOIError, match="full_bbox"):
        aoi_from_mapping(BASE, extent="full")
    assert aoi_from_mapping({**BASE, "full_bbox": [73, 26, 105, 40]}, extent="full").bbox == (73, 26, 105, 40)
