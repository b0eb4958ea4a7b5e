"""Metrics against a hand-made confusion matrix."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from permafusion.learn.metrics import (
    cohen_kappa,
    confusion_matrix,
    f1_per_class,
    metrics_report,
    unit_confusion,
)
from permafusion.tasks.degradation.classes import DEGRADATION


def test_confusion_matrix_and_scores() -> None:
    reference = np.array([[1, 1, 1, 1, 2, 2, 3, 0, 0]])
    predicted = np.array([[1, 1, 1, 2, 2, 2, 1, 4, 3]])
    cm = confusion_matrix(reference, predicted, num_classes=4)
    expected = np.array([[3, 1, 0, 0], [0, 2, 0, 0], [1, 0, 0, 0], [0, 0, 0, 0]])
    np.testing.assert_array_equal(cm, expected)  # unlabeled pixels (0) are skipped

    report = metrics_report(cm, scheme=DEGRADATION)
    json.dumps(report)
    assert report["overall_accuracy"] == pytest.approx(5 / 7)
    f1 = {v["code"]: v["f1"] for v in report["per_class"].values()}
    assert f1[1] == pytest.approx(2 * 3 / (2 * 3 + 1 + 1))
    assert f1[2] == pytest.approx(2 * 2 / (2 * 2 + 1))
    assert f1[3] == 0.0
    assert f1[4] is None  # neither present nor predicted: undefined, left out of the mean
    assert report["mean_f1"] == pytest.approx((0.75 + 0.8 + 0.0) / 3)
    iou = {v["code"]: v["iou"] for v in report["per_class"].values()}
    assert iou[1] == pytest.approx(3 / 5) and iou[2] == pytest.approx(2 / 3) and iou[3] == 0.0
    assert report["per_class"]["stable permafrost"]["support"] == 4
    assert report["labeled_pixels"] == 7
    assert math.isnan(f1_per_class(cm)[3])
    # kappa by hand: p_o = 5/7; row totals 4, 2, 1, 0 and column totals 4, 3, 0, 0 give
    # p_e = (16 + 6) / 49, so kappa = (35/49 - 22/49) / (27/49) = 13/27
    assert report["kappa"] == pytest.approx(13 / 27)
    assert cohen_kappa(cm) == pytest.approx(13 / 27)


def test_kappa_edge_cases() -> None:
    assert cohen_kappa(np.diag([5, 3, 2, 0])) == pytest.approx(1.0)
    assert math.isnan(cohen_kappa(np.zeros((4, 4), dtype=np.int64)))
    one_class = np.zeros((4, 4), dtype=np.int64)
    one_class[0, 0] = 9  # chance agreement is already 1: kappa undefined
    assert math.isnan(cohen_kappa(one_class))
    assert metrics_report(one_class, scheme=DEGRADATION)["kappa"] is None
    # predicting the majority everywhere: no better than chance
    majority = np.array([[6, 0, 0, 0], [3, 0, 0, 0], [1, 0, 0, 0], [0, 0, 0, 0]])
    assert cohen_kappa(majority) == pytest.approx(0.0)


def test_unit_confusion_gathers_each_units_pixels_wherever_they_lie() -> None:
    rng = np.random.default_rng(1)
    reference = rng.integers(0, 5, (3, 8, 8))
    predicted = rng.integers(1, 5, (3, 8, 8))
    units = rng.integers(-1, 2, (3, 8, 8))  # two units spread over all patches, -1 scored nowhere
    per_unit = unit_confusion(units, reference, predicted, count=2, num_classes=4)
    for u in (0, 1):
        inside = units == u
        expected = confusion_matrix(reference[inside], predicted[inside], num_classes=4)
        np.testing.assert_array_equal(per_unit[u], expected)
    with pytest.raises(ValueError, match="predicted codes"):
        unit_confusion(np.array([[0]]), np.array([[1]]), np.array([[0]]), count=1, num_classes=4)


def test_bad_codes_are_rejected() -> None:
    with pytest.raises(ValueError, match="predicted codes"):
        confusion_matrix(np.array([1, 2]), np.array([0, 2]), num_classes=4)
    with pytest.raises(ValueError, match="shape"):
        confusion_matrix(np.array([1, 2]), np.array([1]), num_classes=4)
