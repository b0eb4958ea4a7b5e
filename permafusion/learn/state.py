"""Resumable training state: what is saved after every epoch and when a saved state may be resumed.

After every epoch the full state (model, optimiser, scheduler, RNG states of torch, numpy and python,
epoch, best score so far and its checkpoint, history, settings and a fingerprint of the training data)
goes atomically to ``<checkpoint stem>.state.pt``. Randomness is derived per epoch from the seed, so a
resumed run draws exactly what an uninterrupted one would, and on CPU ends with bit-identical weights.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from permafusion.core.files import atomic_write
from permafusion.learn.settings import RESUME_MAY_CHANGE

#: Version of the resumable state file (:func:`state_path`).
STATE_FORMAT = 3


def state_path(checkpoint: Path) -> Path:
    """Where the resumable training state of ``checkpoint`` goes: ``model.pt`` -> ``model.state.pt``."""
    checkpoint = Path(checkpoint)
    return checkpoint.with_name(checkpoint.stem + ".state.pt")


def save_torch(payload: Mapping[str, Any], path: Path) -> None:
    """``torch.save`` through :func:`permafusion.core.files.atomic_write`."""
    with atomic_write(path) as tmp:
        torch.save(dict(payload), tmp)


def rng_states() -> dict[str, Any]:
    """RNG states of torch (CPU and CUDA), numpy's global generator and python's ``random``, as tensors
    and plain types (``torch.load(weights_only=True)`` reads them)."""
    name, keys, pos, has_gauss, cached = np.random.get_state(legacy=True)  # type: ignore[misc]
    version, internal, gauss_next = random.getstate()
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "numpy": {
            "name": str(name),
            "keys": torch.from_numpy(np.asarray(keys, dtype=np.int64)),
            "pos": int(pos),
            "has_gauss": int(has_gauss),
            "cached_gaussian": float(cached),
        },
        "python": {"version": int(version), "state": list(internal), "gauss_next": gauss_next},
    }


def set_rng_states(states: Mapping[str, Any]) -> None:
    """Restore what :func:`rng_states` returned."""
    torch.set_rng_state(states["torch"].cpu())
    if states["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([s.cpu() for s in states["cuda"]][: torch.cuda.device_count()])
    np_state = states["numpy"]
    np.random.set_state(
        (
            np_state["name"],
            np_state["keys"].numpy().astype(np.uint32),
            np_state["pos"],
            np_state["has_gauss"],
            np_state["cached_gaussian"],
        )
    )
    py = states["python"]
    random.setstate((py["version"], tuple(py["state"]), py["gauss_next"]))


def files_fingerprint(paths: Iterable[str | Path]) -> str:
    """A fingerprint of training data files: the bytes of each file given, and the name, size and mtime
    of every file inside each folder given.

    Rebuilding a data set rewrites its files, so a training state from before no longer matches; untouched
    files (a killed run started again) do.
    """
    digest = hashlib.sha256()
    for item in paths:
        path = Path(item)
        if path.is_file():
            digest.update(path.read_bytes())
            continue
        for file in sorted(p for p in path.rglob("*") if p.is_file()):
            info = file.stat()
            digest.update(f"{file.relative_to(path)}:{info.st_size}:{info.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def incompatibility(
    state: Mapping[str, Any], *, settings: Mapping[str, Any], defaults: Mapping[str, Any], data: str
) -> str | None:
    """Why a saved training state cannot be resumed with ``settings`` on data ``data``; None if it can.

    Args:
        state: the loaded state.
        settings: the run's settings (a flat mapping).
        defaults: the default of each setting: a setting missing from an older state had its default.
        data: the fingerprint of the run's training data.
    """
    if state.get("format_version") != STATE_FORMAT:
        return f"it has format {state.get('format_version')}, expected {STATE_FORMAT}"
    saved = state["settings"]
    changed = sorted(
        k for k in settings if k not in RESUME_MAY_CHANGE and saved.get(k, defaults.get(k)) != settings[k]
    )
    if changed:
        return (
            "settings changed ("
            + ", ".join(f"{k}: {saved.get(k)!r} -> {settings[k]!r}" for k in changed)
            + ")"
        )
    if state.get("data") != data:
        return "the training data changed since it was written"
    return None
