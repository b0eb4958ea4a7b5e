"""ConvLSTM cell against a hand-computed step; the stack against unrolled cells."""

from __future__ import annotations

import math

import pytest
import torch

from permafusion.tasks.degradation.models.convlstm import ConvLSTM, ConvLSTMCell


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def test_cell_matches_hand_computed_step() -> None:
    cell = ConvLSTMCell(1, 1, kernel_size=1)
    with torch.no_grad():  # gate rows i, f, o, g; columns [x, h]
        cell.conv.weight.copy_(
            torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [2.0, 0.0]]).reshape(4, 2, 1, 1)
        )
        cell.conv.bias.copy_(torch.tensor([0.0, 0.5, 0.0, -0.2]))
    x, h, c = 0.5, 0.2, 0.3
    h1, c1 = cell(torch.full((1, 1, 1, 1), x), (torch.full((1, 1, 1, 1), h), torch.full((1, 1, 1, 1), c)))

    i, f, o, g = sigmoid(x), sigmoid(h + 0.5), sigmoid(x + h), math.tanh(2 * x - 0.2)
    c_expected = f * c + i * g
    h_expected = o * math.tanh(c_expected)
    assert c1.item() == pytest.approx(c_expected, rel=1e-6)
    assert h1.item() == pytest.approx(h_expected, rel=1e-6)


def test_stack_unrolls_cells_from_zero_state() -> None:
    torch.manual_seed(0)
    lstm = ConvLSTM(3, (5, 4))
    x = torch.randn(2, 4, 3, 6, 7)
    outputs, states = lstm(x)
    assert outputs.shape == (2, 4, 4, 6, 7)
    assert [s[0].shape for s in states] == [(2, 5, 6, 7), (2, 4, 6, 7)]
    s1 = s2 = None
    for t in range(4):
        s1 = lstm.cells[0](x[:, t], s1)
        s2 = lstm.cells[1](s1[0], s2)
    torch.testing.assert_close(states[1][0], s2[0])
    torch.testing.assert_close(outputs[:, -1], s2[0])


def test_even_kernel_is_rejected() -> None:
    with pytest.raises(ValueError, match="odd"):
        ConvLSTMCell(1, 1, kernel_size=2)
