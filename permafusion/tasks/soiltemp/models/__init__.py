"""The sequence models of seed 002 and the registry that builds them by name."""

from __future__ import annotations

from typing import Any

from torch import nn

from permafusion.tasks.soiltemp.models.base import SequenceRegressor
from permafusion.tasks.soiltemp.models.bilstm import BiLSTMEncoder
from permafusion.tasks.soiltemp.models.conv_lstm import Conv1DLSTMEncoder
from permafusion.tasks.soiltemp.models.gru import GRUEncoder
from permafusion.tasks.soiltemp.models.tcn import TCNEncoder
from permafusion.tasks.soiltemp.models.transformer import TransformerEncoder

ENCODERS: dict[str, type[nn.Module]] = {
    "gru": GRUEncoder,
    "bilstm": BiLSTMEncoder,
    "tcn": TCNEncoder,
    "transformer": TransformerEncoder,
    "conv1d_lstm": Conv1DLSTMEncoder,
}
MODEL_NAMES = tuple(ENCODERS)


def build_model(
    name: str,
    *,
    features: int,
    statics: int,
    bands: int,
    depths: int,
    hidden: int = 64,
    layers: int = 2,
    dropout: float = 0.1,
) -> SequenceRegressor:
    """A fresh model of the registry.

    Raises:
        ValueError: for an unknown name.
    """
    if name not in ENCODERS:
        raise ValueError(f"unknown soil temperature model {name!r}; known: {', '.join(ENCODERS)}")
    kwargs: dict[str, Any] = {"hidden": hidden, "layers": layers, "dropout": dropout}
    if name == "tcn":
        kwargs["layers"] = max(layers, 4)  # dilations 1..8: a receptive field of 61 days with kernel 3
    encoder = ENCODERS[name](features, **kwargs)
    return SequenceRegressor(encoder, statics=statics, bands=bands, depths=depths, dropout=dropout)


__all__ = ["MODEL_NAMES", "SequenceRegressor", "build_model"]
