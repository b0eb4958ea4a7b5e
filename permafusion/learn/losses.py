"""Training loss: cross-entropy plus soft Dice (equal weights by default), ignoring unlabeled pixels.

Targets are passed as class **codes** (uint8/int, 0 = unlabeled, 1..K = classes), exactly as stored in the
patch store. Internally the target index is ``code - 1`` with ``ignore_index = -1``, so code 0 never
contributes to either term, and logits channel ``k`` is matched with code ``k + 1``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

IGNORE_INDEX = -1


def codes_to_targets(labels: torch.Tensor) -> torch.Tensor:
    """Class codes (0 unlabeled, 1..K) to int64 targets (``IGNORE_INDEX`` unlabeled, 0..K-1)."""
    return labels.long() - 1  # code 0 (no data in every class scheme) becomes IGNORE_INDEX


def soft_dice_loss(logits: torch.Tensor, targets: torch.Tensor, *, eps: float = 1.0) -> torch.Tensor:
    """Multi-class soft Dice loss over labeled pixels.

    ``1 - mean_c (2 Σ p_c y_c + eps) / (Σ p_c + Σ y_c + eps)`` with softmax probabilities ``p`` and one-hot
    ``y``, sums over all labeled pixels of the batch; the mean runs over the classes present in the batch's
    labels (an absent class has no overlap to measure). Returns a differentiable 0 when nothing is labeled.

    Args:
        logits: (B, K, H, W).
        targets: (B, H, W) int64 in 0..K-1, ``IGNORE_INDEX`` for unlabeled pixels.
    """
    valid = targets != IGNORE_INDEX
    if not bool(valid.any()):
        return logits.sum() * 0.0
    k = logits.shape[1]
    probs = torch.softmax(logits, dim=1).permute(0, 2, 3, 1)[valid]  # (n, K)
    onehot = F.one_hot(targets[valid], k).to(probs.dtype)  # (n, K)
    intersection = (probs * onehot).sum(dim=0)
    denominator = probs.sum(dim=0) + onehot.sum(dim=0)
    dice = (2.0 * intersection + eps) / (denominator + eps)
    present = onehot.sum(dim=0) > 0
    return 1.0 - dice[present].mean()


class CombinedLoss(nn.Module):
    """``ce_weight * CE + dice_weight * soft Dice``, both over labeled pixels only (paper §4.5: 1 and 1)."""

    def __init__(self, *, ce_weight: float = 1.0, dice_weight: float = 1.0) -> None:
        super().__init__()
        if ce_weight < 0 or dice_weight < 0 or ce_weight + dice_weight == 0:
            raise ValueError(f"loss weights must be >= 0 and not both 0, got {ce_weight}, {dice_weight}")
        self.ce_weight = ce_weight
        self.dice_weight = dice_weight

    def forward(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Scalar loss.

        Args:
            logits: (B, K, H, W) raw scores, channel k = class code k+1.
            labels: (B, H, W) class codes, 0 = unlabeled (ignored).
        """
        if labels.shape != logits.shape[:1] + logits.shape[2:]:
            raise ValueError(f"labels {tuple(labels.shape)} do not match logits {tuple(logits.shape)}")
        targets = codes_to_targets(labels)
        if int(targets.max()) >= logits.shape[1]:
            raise ValueError(f"label codes must be 0..{logits.shape[1]}, found {int(labels.max())}")
        valid = targets != IGNORE_INDEX
        if not bool(valid.any()):
            return logits.sum() * 0.0
        ce = F.cross_entropy(logits, targets, ignore_index=IGNORE_INDEX)
        return self.ce_weight * ce + self.dice_weight * soft_dice_loss(logits, targets)
