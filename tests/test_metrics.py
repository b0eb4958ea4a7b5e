"""Metrics against a hand-made confusion matrix."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from permafusion.metrics import confusion_matrix, f1_per_class, metrics_report


def test_confusion_matrix_and_scores() -> None:
    reference = np.array([[1, 1, 1, 1, 2, 2, 3, 0, 0]])
    predicted = np.array([[1, 1, 1, 2, 2, 2, 1, 4, 3]])
    cm = confusion_matrix(reference, predicted)
    expected = np.array([[3, 1, 0, 0], [0, 2, 0, 0], [1, 0, 0, 0], [0, 0, 0, 0]])
    np.testing.assert_array_equal(cm, expected)  # unlabeled pixels (0) are skipped

    report = metrics_report(cm)
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


def test_bad_codes_are_rejected() -> None:
    with pytest.raises(ValueError, match="predicted codes"):
        confusion_matrix(np.array([1, 2]), np.array([0, 2]))
    with pytest.raises(ValueError, match="shape"):
        confusion_matrix(np.array([1, 2]), np.array([1]))
