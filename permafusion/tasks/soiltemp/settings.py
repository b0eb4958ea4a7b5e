"""Settings of a soil-temperature training run: the loop's plus the model, the windows and the split."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from permafusion.learn.settings import LoopSettings
from permafusion.tasks.soiltemp.models import MODEL_NAMES


@dataclass(frozen=True)
class SoilTrainSettings(LoopSettings):
    """Everything that decides a training run (defaults: workflow/schemas/config.schema.yaml, section
    ``soil_temperature.train``).

    Attributes (besides :class:`~permafusion.learn.settings.LoopSettings`'):
        model: a name of :data:`permafusion.tasks.soiltemp.models.MODEL_NAMES`.
        window: days of drivers per sample, ending on the predicted day (90: a season of context).
        stride: keep every ``stride``-th day as a training sample (neighbouring windows nearly coincide).
        hidden: model width.
        layers: recurrent / attention layers (the TCN uses at least 4 dilated blocks).
        dropout: dropout in the encoder and head.
    """

    model: str = "gru"
    window: int = 90
    stride: int = 3
    hidden: int = 64
    layers: int = 2
    dropout: float = 0.1
    epochs: int = 30
    batch_size: int = 128
    learning_rate: float = 2e-3
    weight_decay: float = 1e-4
    eval_batch_size: int = 1024
    precision: Literal["auto", "fp32", "bf16"] = "auto"

    def __post_init__(self) -> None:
        super().__post_init__()
        problems = []
        if self.model not in MODEL_NAMES:
            problems.append(f"model={self.model!r} must be one of {', '.join(MODEL_NAMES)}")
        for name in ("window", "stride", "hidden", "layers"):
            if getattr(self, name) < 1:
                problems.append(f"{name}={getattr(self, name)} must be >= 1")
        if not 0 <= self.dropout < 1:
            problems.append(f"dropout={self.dropout} must be in [0, 1)")
        if problems:
            raise ValueError("invalid soil temperature training settings: " + "; ".join(problems))

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any]) -> SoilTrainSettings:
        """Settings from a config mapping.

        Raises:
            ValueError: for unknown keys or invalid values.
        """
        fields = {f.name for f in dataclasses.fields(cls)}
        unknown = set(mapping) - fields
        if unknown:
            raise ValueError(
                f"unknown soil temperature training settings {sorted(unknown)}; known: {sorted(fields)}"
            )
        return cls(**dict(mapping))

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)
