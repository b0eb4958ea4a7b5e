"""Report figures of a trained model: training curves and a confusion matrix (PNG, for the run's report)."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from permafusion.core.files import atomic_write


def plot_training_curves(history: pd.DataFrame, path: str | Path, *, best_epoch: int | None = None) -> None:
    """Loss (train and validation) and the validation scores per epoch, side by side.

    Args:
        history: one row per epoch with ``epoch``, ``train_loss``, ``val_loss`` and any ``val_*`` scores
            (the training loop's ``history.csv``).
        path: the PNG to write.
        best_epoch: the epoch whose checkpoint was kept, marked on both panels.

    Raises:
        ValueError: if a needed column is missing or the history is empty.
    """
    missing = {"epoch", "train_loss", "val_loss"} - set(history.columns)
    if missing or history.empty:
        raise ValueError(f"training history lacks {sorted(missing)} or has no epoch: it is not a history.csv")
    scores = [c for c in history.columns if c.startswith("val_") and c != "val_loss"]
    fig, (loss_ax, score_ax) = plt.subplots(1, 2, figsize=(9, 3.4))
    loss_ax.plot(history["epoch"], history["train_loss"], "o-", label="train")
    loss_ax.plot(history["epoch"], history["val_loss"], "s-", label="validation")
    loss_ax.set(xlabel="epoch", ylabel="loss", title="loss")
    for column in scores:
        score_ax.plot(history["epoch"], history[column], "o-", label=column.removeprefix("val_"))
    score_ax.set(xlabel="epoch", ylabel="score", title="validation scores", ylim=(0, 1))
    for ax in (loss_ax, score_ax):
        if best_epoch is not None:
            ax.axvline(best_epoch, color="grey", linestyle=":", label=f"kept (epoch {best_epoch})")
        ax.legend(fontsize=7)
    fig.tight_layout()
    with atomic_write(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=110)
    plt.close(fig)


def plot_confusion_matrix(
    matrix: np.ndarray | Sequence[Sequence[int]], names: Sequence[str], path: str | Path, *, title: str
) -> None:
    """The confusion matrix (rows reference, columns predicted) coloured by row share, with pixel counts.

    Raises:
        ValueError: if the matrix is not square with one row per name.
    """
    counts = np.asarray(matrix, dtype=np.int64)
    if counts.shape != (len(names), len(names)):
        raise ValueError(f"confusion matrix {counts.shape} does not fit {len(names)} classes")
    share = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    size = 1.4 + 1.1 * len(names)
    fig, ax = plt.subplots(figsize=(size + 1.5, size))
    image = ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    for (row, col), count in np.ndenumerate(counts):
        ax.text(
            col,
            row,
            f"{count}\n{share[row, col]:.0%}",
            ha="center",
            va="center",
            fontsize=7,
            color="white" if share[row, col] > 0.6 else "black",
        )
    labels = [textwrap.fill(name, 16) for name in names]
    ax.set_xticks(range(len(names)), labels, rotation=30, ha="right", fontsize=7)
    ax.set_yticks(range(len(names)), labels, fontsize=7)
    ax.set(xlabel="predicted", ylabel="reference", title=title)
    fig.colorbar(image, ax=ax, label="share of the reference class")
    fig.tight_layout()
    with atomic_write(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=110)
    plt.close(fig)
