"""Per-batch class weights and the BCE + Dice loss (seed 001 §3.4)."""

import torch

from permafusion.tasks.rts.losses import batch_weights, bce_dice_loss


def test_weights_balance_slump_and_background_pixels():
    labels = torch.ones(2, 8, 8, dtype=torch.uint8)
    labels[0, :2, :2] = 2  # 4 slump pixels
    labels[1, 0, :] = 0  # 8 unlabelled
    weights = batch_weights(labels)
    slump, background = weights[labels == 2], weights[labels == 1]
    assert torch.allclose(slump.sum(), background.sum())
    assert torch.allclose(weights[labels > 0].mean(), torch.tensor(1.0))
    assert (weights[labels == 0] == 0).all()
    n_pos, n_neg = 4, 128 - 8 - 4
    assert torch.allclose(slump[0] / background[0], torch.tensor(n_neg / n_pos))


def test_a_batch_of_one_class_weighs_its_pixels_equally():
    labels = torch.ones(1, 4, 4, dtype=torch.uint8)
    labels[0, 0, 0] = 0
    weights = batch_weights(labels)
    assert weights.sum() == 15 and weights[0, 0, 0] == 0


def test_loss_rewards_the_right_answer_and_ignores_unlabelled_pixels():
    labels = torch.ones(1, 8, 8, dtype=torch.uint8)
    labels[0, 2:5, 2:5] = 2
    good = torch.where(labels == 2, 8.0, -8.0).float()[:, None]
    bad = -good
    assert bce_dice_loss(good, labels) < 0.05 < 1.0 < bce_dice_loss(bad, labels)
    unlabelled = labels.clone()
    unlabelled[0, 6:, 6:] = 0
    noisy = good.clone()
    noisy[0, 0, 6:, 6:] = 8.0  # wrong, but unlabelled
    assert torch.allclose(bce_dice_loss(noisy, unlabelled), bce_dice_loss(good, unlabelled))
    logits = torch.zeros(1, 1, 8, 8, requires_grad=True)
    bce_dice_loss(logits, labels).backward()
    assert logits.grad is not None and logits.grad[0, 0, 3, 3] < 0 < logits.grad[0, 0, 0, 0]
