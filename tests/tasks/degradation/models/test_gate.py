"""CrossModalGate against a hand-computed example."""

from __future__ import annotations

import math

import pytest
import torch

from permafusion.tasks.degradation.models.gate import CrossModalGate


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def test_gate_matches_hand_computation() -> None:
    gate = CrossModalGate(2, reduction=4)  # hidden units: max(1, 2*2 // 4) = 1
    with torch.no_grad():
        gate.fc1.weight.copy_(
            torch.tensor([[1.0, 0.0, 0.0, 1.0]])
        )  # [GAP(Fs)_0, GAP(Fs)_1, GAP(Fo)_0, GAP(Fo)_1]
        gate.fc1.bias.zero_()
        gate.fc2.weight.copy_(torch.tensor([[1.0], [-1.0]]))
        gate.fc2.bias.copy_(torch.tensor([0.0, 0.5]))
    fs = torch.tensor([[[[0.0, 2.0]], [[2.0, 2.0]]]])  # (1, 2, 1, 2): channel means 1, 2
    fo = torch.tensor([[[[0.5, 0.5]], [[-1.0, 3.0]]]])  # channel means 0.5, 1
    fused, a = gate(fs, fo)

    hidden = max(0.0, 1.0 * 1.0 + 1.0 * 1.0)  # ReLU(W1 · [1, 2, 0.5, 1]) = 2
    a0, a1 = sigmoid(hidden), sigmoid(-hidden + 0.5)
    assert a.shape == (1, 2)
    assert a[0].tolist() == pytest.approx([a0, a1], rel=1e-6)
    expected = [
        [a0 * 0.0 + (1 - a0) * 0.5, a0 * 2.0 + (1 - a0) * 0.5],
        [a1 * 2.0 + (1 - a1) * -1.0, a1 * 2.0 + (1 - a1) * 3.0],
    ]
    assert fused.shape == fs.shape
    assert fused[0, :, 0].tolist()[0] == pytest.approx(expected[0], rel=1e-6)
    assert fused[0, :, 0].tolist()[1] == pytest.approx(expected[1], rel=1e-6)


def test_gate_reduction_sets_hidden_width_and_checks_shapes() -> None:
    assert CrossModalGate(64, reduction=16).fc1.out_features == 8
    assert CrossModalGate(4, reduction=16).fc1.out_features == 1
    with pytest.raises(ValueError, match="must both be"):
        CrossModalGate(4)(torch.zeros(1, 4, 2, 2), torch.zeros(1, 3, 2, 2))
