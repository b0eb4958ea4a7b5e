"""Object matching at IoU >= 0.5 and per-object scores."""

import numpy as np

from permafusion.tasks.rts.evaluate import score_units, summarize_units
from permafusion.tasks.rts.objects import label_objects, match_objects, object_breakdown


def _square(mask: np.ndarray, row: int, col: int, side: int) -> None:
    mask[row : row + side, col : col + side] = True


def test_overlap_of_half_or_more_is_a_match_and_less_is_not():
    truth = np.zeros((40, 40), bool)
    _square(truth, 0, 0, 10)  # 100 px
    _square(truth, 20, 20, 10)
    pred = np.zeros_like(truth)
    _square(pred, 0, 2, 10)  # IoU 80 / 120 = 0.67: found
    _square(pred, 20, 26, 10)  # IoU 40 / 160 = 0.25: missed, and a false positive
    _square(pred, 0, 30, 3)  # a false positive far away
    assert match_objects(truth, pred) == {"tp": 1, "fp": 2, "fn": 1, "true": 2, "predicted": 3}


def test_one_prediction_matches_at_most_one_truth_and_small_objects_are_dropped():
    truth = np.zeros((20, 40), bool)
    _square(truth, 0, 0, 10)
    _square(truth, 0, 11, 10)
    pred = np.zeros_like(truth)
    pred[0:10, 0:21] = True  # covers both: IoU 100/210 each < 0.5
    pred[15, 30] = True  # one pixel
    assert match_objects(truth, pred) == {"tp": 0, "fp": 2, "fn": 2, "true": 2, "predicted": 2}
    assert match_objects(truth, pred, min_pixels=2)["predicted"] == 1
    labels, count = label_objects(pred, min_pixels=2)
    assert count == 1 and labels[15, 30] == 0


def test_the_breakdown_says_why_predictions_outnumber_slumps():
    truth = np.zeros((60, 60), bool)
    _square(truth, 0, 0, 10)  # matched
    _square(truth, 0, 20, 10)  # split in two by the prediction
    _square(truth, 20, 0, 10)  # with the next, two touching-free slumps under one prediction
    _square(truth, 20, 11, 10)
    _square(truth, 40, 0, 10)  # under a prediction too small for IoU 0.5
    pred = np.zeros_like(truth)
    _square(pred, 0, 0, 10)
    pred[0:10, 20:26] = True  # 60 px: IoU 0.6, matched
    pred[0:10, 27:30] = True  # 30 px on the same slump: a fragment
    pred[20:30, 0:21] = True  # over two slumps: merged
    _square(pred, 40, 0, 5)  # 25 px of 100: mis-sized
    _square(pred, 50, 50, 4)  # over nothing: spurious
    _square(pred, 40, 50, 4)
    out = object_breakdown(truth, pred)
    assert out == {
        "true": 5,
        "predicted": 7,
        "matched": 2,
        "fragment": 1,
        "merged": 1,
        "spurious": 2,
        "missized": 1,
    }
    assert sum(out[k] for k in ("matched", "fragment", "merged", "spurious", "missized")) == out["predicted"]
    assert object_breakdown(truth, np.zeros_like(truth))["predicted"] == 0
    assert object_breakdown(np.zeros_like(truth), pred)["spurious"] == 7


def test_block_counts_add_up_to_the_image_and_intervals_hold_the_point():
    truth = np.ones((128, 128), np.uint8)
    pred = np.zeros((128, 128), bool)
    rng = np.random.default_rng(0)
    for _ in range(12):
        r, c = rng.integers(0, 118, size=2)
        truth[r : r + 8, c : c + 8] = 2
        pred[r + 1 : r + 9, c : c + 8] = True
    truth[:, :4] = 0  # unlabelled: not counted
    pred[:, :4] = True
    units = score_units(truth, pred, block=32)
    assert units.shape == (16, 6)
    t, p = truth == 2, pred & (truth > 0)
    assert units[:, 0].sum() == (t & p).sum() and units[:, 1].sum() == (~t & p).sum()
    assert units[:, 2].sum() == (t & ~p).sum()
    scores = summarize_units(units, n_boot=200, seed=1)
    for key in ("precision", "recall", "f1", "object_f1"):
        assert scores[f"{key}_lo"] <= scores[key] <= scores[f"{key}_hi"]
    assert scores["precision"] == (t & p).sum() / p.sum()
