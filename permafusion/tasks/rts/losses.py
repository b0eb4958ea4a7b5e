"""BCE + Dice with per-batch class weights (seed 001 §3.4).

"For every batch, the ratio of positive and negative pixels is calculated and considered in the
calculation of the loss": each labelled pixel of a batch is weighted so that the slump and background
pixels carry equal total weight (a slump pixel weighs n_neg / n_pos times a background pixel), weights
normalised to mean 1 over the labelled pixels. Unlabelled pixels (code 0) weigh 0. The Dice term is the
soft Dice of the slump class over the labelled pixels.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from permafusion.tasks.rts.classes import BACKGROUND, SLUMP


def batch_weights(labels: torch.Tensor) -> torch.Tensor:
    """Per-pixel weights of a batch of label codes (0 unlabelled, 1 background, 2 slump).

    Returns weights with the labels' shape: 0 where unlabelled; otherwise background pixels ``w_b`` and
    slump pixels ``w_s`` with ``w_s * n_pos == w_b * n_neg`` and mean 1 over labelled pixels. A batch with
    only one class present weighs its labelled pixels 1.
    """
    pos = labels == SLUMP
    neg = labels == BACKGROUND
    n_pos, n_neg = pos.sum(), neg.sum()
    weights = torch.zeros(labels.shape, dtype=torch.float32, device=labels.device)
    if int(n_pos) == 0 or int(n_neg) == 0:
        weights[pos | neg] = 1.0
        return weights
    total = (n_pos + n_neg).float()
    weights[pos] = total / (2.0 * n_pos.float())
    weights[neg] = total / (2.0 * n_neg.float())
    return weights


def bce_dice_loss(logits: torch.Tensor, labels: torch.Tensor, *, eps: float = 1.0) -> torch.Tensor:
    """Weighted binary cross-entropy plus soft Dice of slump pixels.

    Args:
        logits: (B, 1, H, W) or (B, H, W) raw scores for "slump".
        labels: (B, H, W) label codes.
    """
    logits = logits.reshape(labels.shape)
    weights = batch_weights(labels)
    labelled = weights > 0
    if not bool(labelled.any()):
        return logits.sum() * 0.0
    target = (labels == SLUMP).float()
    bce = F.binary_cross_entropy_with_logits(logits, target, weight=weights, reduction="sum") / labelled.sum()
    probs = torch.sigmoid(logits)[labelled]
    truth = target[labelled]
    dice = (2.0 * (probs * truth).sum() + eps) / (probs.sum() + truth.sum() + eps)
    return bce + (1.0 - dice)
