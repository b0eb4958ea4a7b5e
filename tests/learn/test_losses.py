"""Cross-entropy + Dice ignores unlabeled pixels (code 0)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from permafusion.learn.losses import IGNORE_INDEX, CombinedLoss, codes_to_targets, soft_dice_loss


def test_codes_map_to_channels_and_ignore() -> None:
    assert codes_to_targets(torch.tensor([0, 1, 4], dtype=torch.uint8)).tolist() == [IGNORE_INDEX, 0, 3]


def test_unlabeled_pixels_do_not_matter() -> None:
    torch.manual_seed(0)
    labels = torch.randint(0, 5, (2, 8, 8), dtype=torch.uint8)
    logits = torch.randn(2, 4, 8, 8, requires_grad=True)
    loss_fn = CombinedLoss()
    loss = loss_fn(logits, labels)
    loss.backward()
    unlabeled = (labels == 0).unsqueeze(1).expand_as(logits)
    assert torch.all(logits.grad[unlabeled] == 0)

    changed = logits.detach().clone()
    changed[unlabeled] = 100.0 * torch.randn(int(unlabeled.sum()))
    assert loss_fn(changed, labels).item() == pytest.approx(loss.item(), rel=1e-6)


def test_terms_and_weights() -> None:
    torch.manual_seed(1)
    labels = torch.randint(0, 5, (1, 6, 6))
    logits = torch.randn(1, 4, 6, 6)
    targets = labels - 1
    ce = F.cross_entropy(logits.permute(0, 2, 3, 1)[labels > 0], targets[labels > 0])
    dice = soft_dice_loss(logits, targets)
    assert CombinedLoss(ce_weight=1, dice_weight=0)(logits, labels).item() == pytest.approx(
        ce.item(), rel=1e-6
    )
    assert CombinedLoss()(logits, labels).item() == pytest.approx((ce + dice).item(), rel=1e-6)


def test_perfect_prediction_has_near_zero_dice_and_all_unlabeled_is_zero() -> None:
    labels = torch.tensor([[[1, 2], [3, 4]]])
    logits = 50.0 * F.one_hot(labels - 1, 4).permute(0, 3, 1, 2).float()
    assert CombinedLoss()(logits, labels).item() == pytest.approx(0.0, abs=1e-4)
    logits = torch.randn(1, 4, 2, 2, requires_grad=True)
    loss = CombinedLoss()(logits, torch.zeros(1, 2, 2, dtype=torch.long))
    loss.backward()
    assert loss.item() == 0.0 and logits.grad is not None
