"""Regression metrics from additive statistics, and the masked MSE loss, on hand-computed cases."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from permafusion.learn.regression import STATISTICS, masked_mse, regression_report, regression_statistics

NAN = math.nan

# Two outputs over four samples. Output a: errors 0, -1, 1, -2, targets mean 3.
# Output b: targets missing (NaN) at samples 0 and 3; errors -2, 1 on targets 2, 4 (mean 3).
PRED = np.array([[1.0, 0.0], [2.0, 0.0], [3.0, 5.0], [4.0, 1.0]])
TARGET = np.array([[1.0, NAN], [3.0, 2.0], [2.0, 4.0], [6.0, NAN]])


def test_statistics_are_the_sums_over_valid_targets() -> None:
    stats = regression_statistics(PRED, TARGET)
    assert stats.shape == (2, len(STATISTICS))
    # count, Σe, Σe², Σ|e|, Σy, Σy²
    np.testing.assert_array_equal(stats[0], [4, -2, 6, 4, 12, 50])
    np.testing.assert_array_equal(stats[1], [2, -1, 5, 3, 6, 20])


def test_report_has_known_rmse_mae_bias_r2_per_output_and_their_means() -> None:
    report = regression_report(regression_statistics(PRED, TARGET), names=["0.2 m", "1.0 m"])
    a, b = report["per_output"]["0.2 m"], report["per_output"]["1.0 m"]
    assert a["rmse"] == pytest.approx(math.sqrt(6 / 4))
    assert a["mae"] == pytest.approx(1.0)
    assert a["bias"] == pytest.approx(-0.5)
    assert a["r2"] == pytest.approx(1 - 6 / 14)  # SST = 4 + 0 + 1 + 9
    assert a["count"] == 4
    assert b["rmse"] == pytest.approx(math.sqrt(5 / 2))
    assert b["mae"] == pytest.approx(1.5)
    assert b["bias"] == pytest.approx(-0.5)
    assert b["r2"] == pytest.approx(1 - 5 / 2)  # SST = 1 + 1
    assert b["count"] == 2
    assert report["rmse"] == pytest.approx((math.sqrt(1.5) + math.sqrt(2.5)) / 2)
    assert report["mae"] == pytest.approx(1.25)
    assert report["bias"] == pytest.approx(-0.5)
    assert report["r2"] == pytest.approx((1 - 6 / 14 + 1 - 5 / 2) / 2)
    assert report["count"] == 6
    assert report["output_names"] == ["0.2 m", "1.0 m"]


def test_report_matches_direct_computation_on_random_data() -> None:
    rng = np.random.default_rng(3)
    target = rng.normal(size=(50, 3))
    pred = target + rng.normal(0.3, 0.5, size=target.shape)
    target[rng.random(target.shape) < 0.2] = NAN
    report = regression_report(regression_statistics(pred, target))
    for i in range(3):
        ok = np.isfinite(target[:, i])
        e, y = pred[ok, i] - target[ok, i], target[ok, i]
        got = report["per_output"][f"output_{i}"]
        assert got["rmse"] == pytest.approx(np.sqrt(np.mean(e**2)))
        assert got["mae"] == pytest.approx(np.mean(np.abs(e)))
        assert got["bias"] == pytest.approx(np.mean(e))
        assert got["r2"] == pytest.approx(1 - np.sum(e**2) / np.sum((y - y.mean()) ** 2))
        assert got["count"] == ok.sum()


def test_missing_targets_do_not_count_whatever_is_predicted_there() -> None:
    changed = PRED.copy()
    changed[0, 1] = 1e9
    changed[3, 1] = NAN  # a NaN prediction at a missing target is harmless
    np.testing.assert_array_equal(regression_statistics(changed, TARGET), regression_statistics(PRED, TARGET))


def test_valid_mask_removes_targets_like_nan() -> None:
    valid = np.ones(PRED.shape, dtype=bool)
    valid[1, 0] = False
    target = TARGET.copy()
    target[1, 0] = NAN
    np.testing.assert_array_equal(
        regression_statistics(PRED, TARGET, valid=valid), regression_statistics(PRED, target)
    )
    torch_stats = regression_statistics(
        torch.from_numpy(PRED), torch.from_numpy(TARGET), valid=torch.from_numpy(valid)
    )
    np.testing.assert_array_equal(torch_stats, regression_statistics(PRED, target))


def test_nan_prediction_at_a_valid_target_is_not_hidden() -> None:
    pred = PRED.copy()
    pred[2, 0] = NAN
    report = regression_report(regression_statistics(pred, TARGET))
    assert report["per_output"]["output_0"]["rmse"] is None  # NaN -> None, not a silently better score
    assert report["per_output"]["output_1"]["rmse"] == pytest.approx(math.sqrt(2.5))


def test_statistics_of_two_halves_add_up_to_the_whole() -> None:
    rng = np.random.default_rng(0)
    pred = rng.normal(size=(2, 37, 5, 3))
    target = rng.normal(size=pred.shape)
    target[rng.random(target.shape) < 0.3] = NAN
    whole = regression_statistics(pred, target)
    halves = regression_statistics(pred[:, :20], target[:, :20]) + regression_statistics(
        pred[:, 20:], target[:, 20:]
    )
    np.testing.assert_allclose(halves, whole, rtol=1e-12)
    summed, direct = regression_report(halves), regression_report(whole)
    for key in ("rmse", "mae", "bias", "r2", "count"):
        assert summed[key] == pytest.approx(direct[key], rel=1e-12)


def test_empty_batch_gives_zeros_and_torch_matches_numpy() -> None:
    np.testing.assert_array_equal(regression_statistics(np.zeros((0, 4, 2)), np.zeros((0, 4, 2))), 0)
    assert regression_statistics(np.zeros((0, 2)), np.zeros((0, 2))).shape == (2, 6)
    np.testing.assert_allclose(
        regression_statistics(torch.tensor(PRED, dtype=torch.float32), torch.tensor(TARGET)),
        regression_statistics(PRED, TARGET),
    )


def test_undefined_metrics_are_none_and_left_out_of_the_means() -> None:
    pred = np.array([[1.0, 1.0, 2.0], [5.0, 1.0, 2.0]])
    target = np.array([[2.0, NAN, 5.0], [4.0, NAN, 5.0]])  # output 1 has no target, output 2 a flat one
    report = regression_report(regression_statistics(pred, target))
    empty, flat = report["per_output"]["output_1"], report["per_output"]["output_2"]
    assert empty == {"rmse": None, "mae": None, "bias": None, "r2": None, "count": 0}
    assert flat["r2"] is None and flat["rmse"] == pytest.approx(3.0) and flat["bias"] == pytest.approx(-3.0)
    assert report["rmse"] == pytest.approx((1.0 + 3.0) / 2)
    assert report["bias"] == pytest.approx((0.0 - 3.0) / 2)
    assert report["r2"] == pytest.approx(1 - 2 / 2)  # output 0 alone: SSE 2, SST 2
    nothing = regression_report(np.zeros((2, 6)))
    assert nothing["rmse"] is None and nothing["r2"] is None and nothing["count"] == 0


def test_flat_targets_with_rounding_rest_have_no_r2() -> None:
    target = np.full((7, 1), 0.1)  # Σy² - (Σy)²/n leaves a rounding rest, not a spread
    report = regression_report(regression_statistics(target + 0.05, target))
    assert report["r2"] is None and report["rmse"] == pytest.approx(0.05)


def test_bad_shapes_and_names_are_errors() -> None:
    with pytest.raises(ValueError, match="one shape"):
        regression_statistics(np.zeros((3, 2)), np.zeros((3, 1)))
    with pytest.raises(ValueError, match="valid"):
        regression_statistics(np.zeros((3, 2)), np.zeros((3, 2)), valid=np.ones(3, dtype=bool))
    with pytest.raises(ValueError, match="statistics must be"):
        regression_report(np.zeros((2, 5)))
    with pytest.raises(ValueError, match="output names"):
        regression_report(np.zeros((2, 6)), names=["only one"])


def test_masked_mse_ignores_missing_targets_and_their_gradient() -> None:
    pred = torch.tensor([[1.0, 2.0, 3.0, 4.0]], requires_grad=True)
    target = torch.tensor([[1.0, NAN, 2.0, 6.0]])
    loss = masked_mse(pred, target)
    assert loss.item() == pytest.approx((0 + 1 + 4) / 3)
    loss.backward()
    assert pred.grad is not None
    # d/dp mean((p - t)²) = 2 (p - t) / n at valid targets, 0 at the missing one (not NaN)
    torch.testing.assert_close(pred.grad, torch.tensor([[0.0, 0.0, 2 / 3, -4 / 3]]))


def test_masked_mse_with_a_mask_and_with_nothing_valid() -> None:
    pred = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    target = torch.tensor([0.0, 0.0, NAN])
    assert masked_mse(pred, target, torch.tensor([True, False, True])).item() == pytest.approx(1.0)
    loss = masked_mse(pred, torch.full((3,), NAN))
    assert loss.item() == 0.0 and loss.requires_grad
    loss.backward()
    assert pred.grad is not None and torch.equal(pred.grad, torch.zeros(3))
    with pytest.raises(ValueError, match="differ"):
        masked_mse(pred, torch.zeros(2))
