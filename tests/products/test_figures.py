"""Report figures: training curves and the confusion matrix are drawn, and bad input is refused."""

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from permafusion.products.figures import plot_confusion_matrix, plot_training_curves


def test_training_curves(tmp_path):
    history = pd.DataFrame(
        {
            "epoch": [1, 2, 3],
            "train_loss": [2.0, 1.5, 1.2],
            "val_loss": [2.1, 1.7, 1.8],
            "val_mean_f1": [0.2, 0.4, 0.38],
            "val_oa": [0.3, 0.5, 0.5],
            "learning_rate": [0.01] * 3,
        }
    )
    plot_training_curves(history, tmp_path / "curves.png", best_epoch=2)
    with Image.open(tmp_path / "curves.png") as image:
        assert image.size[0] > image.size[1] > 200
    with pytest.raises(ValueError, match=r"lacks \['val_loss'\]"):
        plot_training_curves(history.drop(columns="val_loss"), tmp_path / "bad.png")


def test_confusion_matrix(tmp_path):
    plot_confusion_matrix(np.array([[5, 1], [0, 3]]), ["a", "b"], tmp_path / "cm.png", title="test split")
    assert (tmp_path / "cm.png").stat().st_size > 5_000
    with pytest.raises(ValueError, match="does not fit 3 classes"):
        plot_confusion_matrix(np.ones((2, 2)), ["a", "b", "c"], tmp_path / "bad.png", title="x")
