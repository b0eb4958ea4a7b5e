"""Bootstrap intervals over patches from per-patch confusion matrices."""

from __future__ import annotations

import json

import numpy as np
import pytest

from permafusion.learn.bootstrap import bootstrap_ci
from permafusion.learn.metrics import metrics_report
from permafusion.tasks.degradation.classes import DEGRADATION


def random_patch_cms(n: int, seed: int = 0) -> np.ndarray:
    """Per-patch matrices of a classifier that is right ~80 % of the time, with varying patch sizes."""
    rng = np.random.default_rng(seed)
    cms = np.zeros((n, 4, 4), dtype=np.int64)
    for i in range(n):
        pixels = int(rng.integers(50, 400))
        ref = rng.choice(4, size=pixels, p=[0.5, 0.25, 0.15, 0.1])
        pred = np.where(rng.random(pixels) < 0.8, ref, rng.integers(0, 4, pixels))
        np.add.at(cms[i], (ref, pred), 1)
    return cms


def test_interval_contains_estimate_and_shrinks_with_more_patches() -> None:
    widths = []
    for n in (20, 320):
        cms = random_patch_cms(n)
        ci = bootstrap_ci(cms, n_boot=400, seed=1, scheme=DEGRADATION)
        json.dumps(ci)
        point = metrics_report(cms.sum(axis=0), scheme=DEGRADATION)
        for key in ("overall_accuracy", "mean_f1", "kappa", "mean_iou"):
            lo, hi = ci[key]
            assert lo <= point[key] <= hi, (n, key)
        for name, bounds in ci["per_class_f1"].items():
            assert bounds[0] <= point["per_class"][name]["f1"] <= bounds[1]
        widths.append(ci["mean_f1"][1] - ci["mean_f1"][0])
        assert ci["units"] == n and ci["n_boot"] == 400
    assert widths[1] < widths[0] / 2  # ~ 1/sqrt(16) = 1/4 expected


def test_bootstrap_is_seeded_and_handles_absent_classes() -> None:
    cms = random_patch_cms(30)
    assert bootstrap_ci(cms, n_boot=100, seed=3, scheme=DEGRADATION) == bootstrap_ci(
        cms, n_boot=100, seed=3, scheme=DEGRADATION
    )
    assert bootstrap_ci(cms, n_boot=100, seed=3, scheme=DEGRADATION) != bootstrap_ci(
        cms, n_boot=100, seed=4, scheme=DEGRADATION
    )
    cms[:, 3, :] = 0
    cms[:, :, 3] = 0  # class 4 neither present nor predicted: undefined, not 0
    assert list(bootstrap_ci(cms, n_boot=50, scheme=DEGRADATION)["per_class_f1"].values())[3] is None
    single = bootstrap_ci(cms[:1], n_boot=10, scheme=DEGRADATION)
    assert single["overall_accuracy"][0] == single["overall_accuracy"][1]


def test_bootstrap_errors() -> None:
    with pytest.raises(ValueError, match="no units"):
        bootstrap_ci(np.zeros((0, 4, 4), dtype=np.int64), scheme=DEGRADATION)
    with pytest.raises(ValueError, match=r"\(N, 4, 4\)"):
        bootstrap_ci(np.zeros((3, 3, 3), dtype=np.int64), scheme=DEGRADATION)
    with pytest.raises(ValueError, match="n_boot"):
        bootstrap_ci(random_patch_cms(3), n_boot=0, scheme=DEGRADATION)
