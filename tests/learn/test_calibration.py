import json

import numpy as np
import pytest

from permafusion.learn.calibration import (
    expected_calibration_error,
    fit_temperature,
    negative_log_likelihood,
    plot_reliability,
    read_temperature,
    reliability,
    softmax,
)


def _sampled(temperature: float, n: int = 20000, k: int = 4, seed: int = 0):
    """Labels drawn from softmax(z / T): the logits z are over-confident by the factor T."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 3, (n, k))
    p = softmax(logits, temperature=temperature)
    labels = (rng.random((n, 1)) > np.cumsum(p, axis=1)).sum(axis=1)
    return logits, labels


def test_temperature_recovers_a_known_temperature():
    logits, labels = _sampled(2.5)
    t = fit_temperature(logits, labels)
    assert t == pytest.approx(2.5, rel=0.05)
    assert negative_log_likelihood(logits, labels, temperature=t) < negative_log_likelihood(logits, labels)


def test_ece_of_a_known_case():
    # two bins used (10 bins): 4 samples at confidence 0.9 with 3 right, 4 at 0.6 with 2 right
    p_high = np.array([[0.9, 0.1]] * 4)
    p_mid = np.array([[0.6, 0.4]] * 4)
    probabilities = np.vstack([p_high, p_mid])
    labels = np.array([0, 0, 0, 1, 0, 0, 1, 1])
    # |0.75 - 0.9| * 4/8 + |0.5 - 0.6| * 4/8 = 0.075 + 0.05
    assert expected_calibration_error(probabilities, labels, bins=10) == pytest.approx(0.125)
    table = reliability(probabilities, labels, bins=10)["bins"]
    assert table[8]["count"] == 4 and table[8]["accuracy"] == 0.75
    assert table[5]["count"] == 4 and table[5]["confidence"] == pytest.approx(0.6)
    assert table[0]["count"] == 0 and table[0]["accuracy"] is None


def test_scaling_lowers_the_ece_of_overconfident_logits(tmp_path):
    logits, labels = _sampled(3.0, n=5000, seed=1)
    t = fit_temperature(logits, labels)
    before = reliability(softmax(logits), labels)
    after = reliability(softmax(logits, temperature=t), labels)
    assert after["ece"] < before["ece"] / 2
    plot_reliability(before, after, tmp_path / "r.png", temperature=t, title="test")
    assert (tmp_path / "r.png").stat().st_size > 10_000


def test_bad_inputs_and_calibration_files(tmp_path):
    with pytest.raises(ValueError, match="class indices"):
        fit_temperature(np.zeros((3, 2)), np.array([0, 1, 2]))
    with pytest.raises(ValueError, match="labels"):
        fit_temperature(np.zeros((3, 2)), np.array([0, 1]))
    assert read_temperature(None) == 1.0
    (tmp_path / "c.json").write_text(json.dumps({"temperature": 1.7}))
    assert read_temperature(tmp_path / "c.json") == 1.7
    (tmp_path / "bad.json").write_text(json.dumps({"temperature": -1}))
    with pytest.raises(ValueError, match="calibrate"):
        read_temperature(tmp_path / "bad.json")
