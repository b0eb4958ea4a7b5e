"""What a model that ignores the order of the months can reach on an AOI's patches, against the same
learner given the ordered series.

Per labelled pixel, gradient boosting (scikit-learn's HistGradientBoostingClassifier, NaN-aware) is trained
on the train split and scored (mean F1 over the four classes) on the test split, twice:

- **order-free**: per band, mean, sd, min and max over the observed months (the order of the months cannot
  be recovered from them);
- **ordered**: every band of every month (NaN where unobserved).

The gap between the two is what the order of the months adds on this scene; the order-free figure is the
ceiling an order-free model reaches with per-pixel information. Prints one line per seed and the mean,
last line ``order_free_mean_f1=<x> ordered_mean_f1=<y>``.

    python benchmarks/order_free_ceiling.py results/demo/patches --seeds 0 1 2
"""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier

from permafusion.learn.metrics import confusion_matrix, metrics_report
from permafusion.tasks.degradation.classes import DEGRADATION
from permafusion.tasks.degradation.patch_store import PatchArrays, load_split, read_split_ids


def pixel_series(data: PatchArrays) -> tuple[np.ndarray, np.ndarray]:
    """(pixels, T * bands) series of the labelled pixels and their labels."""
    series = np.concatenate([data.sar, data.optical], axis=2)  # (N, T, C, P, P)
    n, t, c = series.shape[:3]
    flat = series.transpose(0, 3, 4, 1, 2).reshape(-1, t, c)
    label = data.label.reshape(-1)
    keep = (label >= 1) & (label <= DEGRADATION.num_classes)
    return flat[keep], label[keep]


def order_free(series: np.ndarray) -> np.ndarray:
    """Per band mean, sd, min, max over the observed months: (pixels, 4 * bands)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a band unobserved all year gives NaN
        stats = [np.nanmean, np.nanstd, np.nanmin, np.nanmax]
        return np.concatenate([f(series, axis=1) for f in stats], axis=1)


def _sample(y: np.ndarray, per_class: int, rng: np.random.Generator) -> np.ndarray:
    picks = []
    for code in DEGRADATION.codes:
        where = np.flatnonzero(y == code)
        if where.size:
            picks.append(rng.choice(where, size=min(per_class, where.size), replace=False))
    return np.concatenate(picks)


def score(train: tuple[np.ndarray, np.ndarray], test: tuple[np.ndarray, np.ndarray], seed: int) -> float:
    observed = ~np.isnan(train[0]).all(axis=0)  # months without any observation (polar night) carry nothing
    model = HistGradientBoostingClassifier(max_iter=200, learning_rate=0.1, random_state=seed)
    model.fit(train[0][:, observed], train[1])
    predicted = model.predict(test[0][:, observed])
    cm = confusion_matrix(test[1], predicted, num_classes=DEGRADATION.num_classes)
    return float(metrics_report(cm, scheme=DEGRADATION)["mean_f1"])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("patches", type=Path, help="an AOI's patches folder (patches.zarr, index.csv)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--per-class", type=int, default=4000, help="training pixels drawn per class")
    args = parser.parse_args()
    store, index = args.patches / "patches.zarr", args.patches / "index.csv"
    ids = read_split_ids(index)
    x_train, y_train = pixel_series(load_split(store, ids["train"], split="train", index=index))
    x_test, y_test = pixel_series(load_split(store, ids["test"], split="test", index=index))
    t, c = x_train.shape[1:]
    print(f"{len(y_train):,} train and {len(y_test):,} test pixels, {t} months x {c} bands")
    results = {"order_free": [], "ordered": []}
    for seed in args.seeds:
        rng = np.random.default_rng(seed)
        pick = _sample(y_train, args.per_class, rng)
        test_pick = _sample(y_test, 4 * args.per_class, rng)
        for name, features in (("order_free", order_free), ("ordered", lambda s: s.reshape(len(s), -1))):
            value = score(
                (features(x_train[pick]), y_train[pick]),
                (features(x_test[test_pick]), y_test[test_pick]),
                seed,
            )
            results[name].append(value)
        free, ordered = results["order_free"][-1], results["ordered"][-1]
        print(f"seed {seed}: order-free mF1 {free:.3f}, ordered {ordered:.3f}")
    mean = {k: float(np.mean(v)) for k, v in results.items()}
    print(f"order_free_mean_f1={mean['order_free']:.3f} ordered_mean_f1={mean['ordered']:.3f}")


if __name__ == "__main__":
    main()
