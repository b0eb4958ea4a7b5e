"""Probability calibration: temperature scaling and the expected calibration error.

Temperature scaling (Guo et al. 2017) divides the logits by one scalar ``T`` fitted on held-out data by
minimising the negative log-likelihood; it changes no argmax, so the class map and its scores stay as
they are while the probabilities become honest. ``T`` is fitted on the validation split (which already
chose the epoch) and the calibration error is reported on the test split before and after.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import torch


def fit_temperature(logits: np.ndarray, labels: np.ndarray, *, max_iter: int = 100) -> float:
    """The temperature that minimises the NLL of ``softmax(logits / T)``, by L-BFGS on ``log T``.

    Args:
        logits: (N, K) float logits of labelled samples (pixels).
        labels: (N,) int class index 0..K-1.
        max_iter: L-BFGS iterations.

    Raises:
        ValueError: for mismatched or empty inputs, or labels outside 0..K-1.
    """
    x, y = _checked(logits, labels)
    log_t = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    optimiser = torch.optim.LBFGS([log_t], lr=0.5, max_iter=max_iter, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        optimiser.zero_grad()
        loss = torch.nn.functional.cross_entropy(x / log_t.exp(), y)
        loss.backward()  # type: ignore[no-untyped-call]
        return loss

    optimiser.step(closure)  # type: ignore[no-untyped-call]
    return float(log_t.detach().exp())


def negative_log_likelihood(logits: np.ndarray, labels: np.ndarray, *, temperature: float = 1.0) -> float:
    """Mean NLL (nats) of ``softmax(logits / temperature)`` at the labels."""
    x, y = _checked(logits, labels)
    return float(torch.nn.functional.cross_entropy(x / temperature, y))


def _checked(logits: np.ndarray, labels: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    if logits.ndim != 2 or labels.shape != logits.shape[:1] or len(labels) == 0:
        raise ValueError(
            f"expected logits (N, K) and labels (N,) with N > 0, got {logits.shape} and {labels.shape}"
        )
    if labels.min() < 0 or labels.max() >= logits.shape[1]:
        raise ValueError(f"labels must be class indices 0..{logits.shape[1] - 1}")
    return torch.as_tensor(logits, dtype=torch.float64), torch.as_tensor(labels, dtype=torch.long)


def softmax(logits: np.ndarray, *, temperature: float = 1.0) -> np.ndarray:
    """Row-wise softmax of ``logits / temperature`` (float64)."""
    z = np.asarray(logits, dtype=np.float64) / temperature
    z = np.exp(z - z.max(axis=1, keepdims=True))
    return np.asarray(z / z.sum(axis=1, keepdims=True))


def reliability(probabilities: np.ndarray, labels: np.ndarray, *, bins: int = 15) -> dict[str, Any]:
    """Confidence (top probability) against accuracy in ``bins`` equal-width bins over (0, 1].

    Returns:
        ``{"ece", "bins": [{"lower", "upper", "count", "confidence", "accuracy"}, ...]}`` where ``ece`` is
        the expected calibration error ``sum_b n_b / N * |accuracy_b - confidence_b|`` and empty bins have
        ``count`` 0 and null means.

    Raises:
        ValueError: for mismatched or empty inputs or ``bins < 1``.
    """
    if probabilities.ndim != 2 or labels.shape != probabilities.shape[:1] or len(labels) == 0 or bins < 1:
        raise ValueError(
            f"expected probabilities (N, K), labels (N,) with N > 0 and bins >= 1, got "
            f"{probabilities.shape}, {labels.shape}, {bins}"
        )
    confidence = probabilities.max(axis=1)
    correct = probabilities.argmax(axis=1) == labels
    index = np.clip(np.ceil(confidence * bins).astype(int) - 1, 0, bins - 1)
    table, ece = [], 0.0
    for b in range(bins):
        member = index == b
        n = int(member.sum())
        row: dict[str, Any] = {"lower": b / bins, "upper": (b + 1) / bins, "count": n}
        if n:
            row["confidence"] = float(confidence[member].mean())
            row["accuracy"] = float(correct[member].mean())
            ece += n / len(labels) * abs(row["accuracy"] - row["confidence"])
        else:
            row["confidence"] = row["accuracy"] = None
        table.append(row)
    return {"ece": ece, "bins": table}


def expected_calibration_error(probabilities: np.ndarray, labels: np.ndarray, *, bins: int = 15) -> float:
    """The expected calibration error of :func:`reliability`."""
    return float(reliability(probabilities, labels, bins=bins)["ece"])


def read_temperature(path: str | Path | None) -> float:
    """The ``temperature`` of a calibration JSON, 1.0 (uncalibrated) when ``path`` is None.

    Raises:
        ValueError: if the file lacks a positive finite ``temperature``.
    """
    if path is None:
        return 1.0
    value = json.loads(Path(path).read_text()).get("temperature")
    if not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{path} has no positive `temperature`; rerun the calibrate step")
    return float(value)


def plot_reliability(
    before: dict[str, Any], after: dict[str, Any], path: str | Path, *, temperature: float, title: str
) -> None:
    """A reliability diagram (accuracy against confidence per bin) before and after scaling, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from permafusion.core.files import atomic_write

    figure, axis = plt.subplots(figsize=(5.5, 5.5), constrained_layout=True)
    axis.plot([0, 1], [0, 1], color="0.6", linestyle="--", label="perfect calibration")
    for table, name, colour in ((before, "T = 1", "tab:red"), (after, f"T = {temperature:.2f}", "tab:blue")):
        rows = [r for r in table["bins"] if r["count"]]
        axis.plot(
            [r["confidence"] for r in rows],
            [r["accuracy"] for r in rows],
            marker="o",
            color=colour,
            label=f"{name} (ECE {table['ece']:.3f})",
        )
    axis.set_xlim(0, 1)
    axis.set_ylim(0, 1)
    axis.set_xlabel("confidence (top class probability)")
    axis.set_ylabel("accuracy")
    axis.set_title(title)
    axis.legend(loc="upper left")
    with atomic_write(path, suffix=".png") as tmp:
        figure.savefig(tmp, dpi=110)
    plt.close(figure)
