"""Writing result files atomically: a reader (or Snakemake) never sees half a file or half a store.

Every writer of the package goes through :func:`atomic_write`: it writes into a temporary sibling, and only
a block that finished renames it into place. A killed or failed write leaves the previous result (if any)
untouched and no partial file behind.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any


def discard(path: Path) -> None:
    """Remove a file or folder if it is there (an abandoned temporary)."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def replace_path(tmp: Path, path: Path) -> None:
    """Move the finished ``tmp`` (a file or a folder) to ``path``, replacing what is there.

    A folder cannot be renamed over a non-empty one, so an existing folder is first moved aside and
    removed after the new one is in place.
    """
    if path.is_dir() and not path.is_symlink():
        old = path.with_name(path.name + ".old")
        discard(old)
        path.rename(old)
        tmp.rename(path)
        shutil.rmtree(old)
    else:
        os.replace(tmp, path)


def fresh_temporary(path: Path, *, suffix: str = "") -> Path:
    """``<name>.tmp<suffix>`` beside ``path`` (parent created), any stale one of a killed run removed.

    For writers that cannot sit in one ``with`` block (e.g. a store filled over many calls): write there,
    then :func:`replace_path` on success or :func:`discard` on failure.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp" + suffix)
    discard(tmp)
    return tmp


@contextmanager
def atomic_write(path: str | Path, *, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it to ``path`` when the block succeeds.

    Works for files and for folders (Zarr stores). A stale temporary of an earlier killed run is removed
    first; on an exception the temporary is removed and ``path`` keeps what it held.

    Args:
        path: the final file or folder; its parent is created.
        suffix: appended to the temporary name (``<name>.tmp<suffix>``), for writers that choose their
            format by extension (e.g. ``".png"`` for matplotlib).
    """
    path = Path(path)
    tmp = fresh_temporary(path, suffix=suffix)
    try:
        yield tmp
        replace_path(tmp, path)
    except BaseException:
        discard(tmp)
        raise


def write_text(text: str, path: str | Path) -> None:
    """Write ``text`` to ``path`` atomically."""
    with atomic_write(path) as tmp:
        tmp.write_text(text)


def write_json(data: Any, path: str | Path, *, indent: int | None = 2) -> None:
    """Write ``data`` as JSON to ``path`` atomically."""
    write_text(json.dumps(data, indent=indent), path)


def write_csv(frame: Any, path: str | Path) -> None:
    """Write a pandas DataFrame as CSV (without its index) to ``path`` atomically."""
    with atomic_write(path) as tmp:
        frame.to_csv(tmp, index=False)


def write_npz(arrays: Mapping[str, Any], path: str | Path) -> None:
    """Write named numpy arrays as an uncompressed ``.npz`` to ``path`` atomically."""
    import numpy as np

    with atomic_write(path, suffix=".npz") as tmp:
        np.savez(tmp, **dict(arrays))
