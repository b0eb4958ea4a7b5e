"""Read STAC assets onto a :class:`~permafusion.geo.grid.GridSpec` with stackstac, lazily, failing loudly.

- Items are copied, their ``proj:code`` mirrored into ``proj:epsg`` (stackstac 0.5.1 reads only the
  latter), and only then passed through ``sign``: signed hrefs live in memory for the read and are
  redacted from error messages, never written anywhere.
- Read errors raise :class:`AssetReadError` naming item, asset and (unsigned) href: stackstac's
  ``errors_as_nodata`` stays empty, so a broken file can never pass as a cloudy month.
- A read of a signed href answered HTTP 403 (an expired SAS token) is signed afresh from the unsigned
  href (planetary_computer's cached token dropped first) and tried once more.
- :func:`drop_unreadable` is the one exception to failing loudly: when the user allows a fraction of
  unreadable scenes (``max_failed_read_fraction``), scenes whose assets cannot be opened are skipped,
  counted and reported, and more than that fraction is still an error.
- The output coordinates are checked against the grid (pixel centres, exact shape) and replaced by the
  grid's own values, so every stage shares bit-identical coordinates.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

import dask
import numpy as np
import pystac
import rasterio
import stackstac
import xarray as xr
from rasterio.enums import Resampling as RioResampling
from stackstac.rio_env import LayeredEnv
from stackstac.rio_reader import AutoParallelRioReader

from permafusion.geo.grid import GridSpec
from permafusion.geo.http import redact
from permafusion.geo.signing import resign_href

log = logging.getLogger(__name__)

Signer = Callable[[pystac.Item], pystac.Item]
ResamplingName = Literal["nearest", "bilinear"]

#: The most GDAL's block cache may take, in MB (config `composite.gdal_cache_mb`). Each month's reads get
#: what their tiles need within it (:func:`gdal_env`, ``BlockReader.prepare``): source tiles that two rows
#: of blocks share (20 m tiles, a grid off the tiles) must stay cached for a row of blocks, or they are
#: decompressed twice (measured: ``benchmarks/composite.py --shift``); a cache bigger than needed costs
#: page faults as it fills.
GDAL_CACHE_MB = 512

#: stackstac's defaults plus HTTP retries; GDAL_DISABLE_READDIR_ON_OPEN stops per-file directory listings.
GDAL_ENV = stackstac.DEFAULT_GDAL_ENV.updated(
    always={
        "GDAL_CACHEMAX": GDAL_CACHE_MB * 2**20,  # bytes (rasterio sets it through GDALSetCacheMax64)
        "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR",
        "GDAL_HTTP_MAX_RETRY": "5",
        "GDAL_HTTP_RETRY_DELAY": "2",
        "GDAL_HTTP_TIMEOUT": "60",
    }
)


def set_gdal_cache(megabytes: int) -> None:
    """Set GDAL's block cache for the reads of this process (see :data:`GDAL_CACHE_MB`)."""
    global GDAL_ENV, GDAL_CACHE_MB
    if megabytes < 16:
        raise ValueError(f"composite.gdal_cache_mb must be at least 16, got {megabytes}")
    GDAL_CACHE_MB = int(megabytes)
    GDAL_ENV = GDAL_ENV.updated(always={"GDAL_CACHEMAX": GDAL_CACHE_MB * 2**20})


#: The smallest block cache :func:`gdal_env` sets.
MIN_GDAL_CACHE_MB = 32


def gdal_env(cache_bytes: int) -> LayeredEnv:
    """:data:`GDAL_ENV` with a block cache of ``cache_bytes``, within [32 MB, :data:`GDAL_CACHE_MB`].

    The cache fills with fresh memory, each page of it a page fault: a month whose reads need 20 MB of
    cache should not fill 512 MB (for Sentinel-1 that was a quarter of the composite's time).
    """
    megabytes = min(GDAL_CACHE_MB, max(MIN_GDAL_CACHE_MB, -(-cache_bytes // 2**20)))
    return GDAL_ENV.updated(always={"GDAL_CACHEMAX": megabytes * 2**20})


# stackstac 0.5.1 checks ``np.can_cast(type(fill_value), dtype)``; under numpy 2 (NEP 50) a Python float
# is float64 and cannot be "safely" cast to float32, so ``fill_value=np.nan`` with ``dtype="float32"`` is
# rejected (stackstac issue #260). A float32 scalar is the same NaN and passes the check.
_FILL = np.float32(np.nan)
_URL_IN_MESSAGE = re.compile(r"""(?:https?|s3|gs|az|file)://[^\s'"]+""")
_FORBIDDEN = re.compile(r"\b403\b")


class AssetReadError(RuntimeError):
    """An asset could not be opened or read; the message names the item, asset and unsigned href."""


@dataclass(frozen=True)
class UnreadableScene:
    """A scene skipped under the failed-read allowance: the first asset that could not be opened."""

    item_id: str
    asset: str
    href: str  # unsigned
    error: str  # redacted

    def __str__(self) -> str:
        return f"{self.item_id} ({self.asset!r}: {self.error})"


class _RedactSecrets(logging.Filter):
    """Drops query strings (SAS tokens) from records of libraries that log the hrefs they open."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "?" in message:
            record.msg, record.args = redact(message), None
        return True


#: Loggers that print signed hrefs at DEBUG level (stackstac's timer, rasterio's dataset open/close).
_HREF_LOGGERS = (
    "stackstac.timer",
    "rasterio",
    "rasterio._base",
    "rasterio._io",
    "rasterio._env",
    "rasterio.env",
)
for _name in _HREF_LOGGERS:
    logging.getLogger(_name).addFilter(_RedactSecrets())


def is_expired_token(error: BaseException, url: str) -> bool:
    """Whether ``error`` from reading ``url`` is a 403 on a signed href (an expired or revoked token)."""
    return "?" in url and _FORBIDDEN.search(str(error)) is not None


def _reader_type(sign: Signer | None) -> type[AutoParallelRioReader]:
    """stackstac's reader, re-signing once (from the unsigned href) when a signed href answers 403."""
    if sign is None:
        return AutoParallelRioReader
    resign: Signer = sign

    class ResigningReader(AutoParallelRioReader):
        url: str
        _resigned = False

        def _may_resign(self, error: BaseException) -> bool:
            return not self._resigned and is_expired_token(error, self.url)

        def _resign(self) -> None:
            self._resigned = True
            log.warning(
                "HTTP 403 from %s (expired token?): signing it afresh and retrying once", redact(self.url)
            )
            self.url = resign_href(self.url, resign)

        def _open(self) -> Any:
            try:
                return super()._open()
            except RuntimeError as error:
                if not self._may_resign(error):
                    raise
                self._resign()
                return super()._open()

        def read(self, window: Any, **kwargs: Any) -> np.ndarray:
            try:
                return super().read(window, **kwargs)
            except RuntimeError as error:
                if not self._may_resign(error):
                    raise
                self.close()  # not under the dataset lock here (``_open`` is, so it must not close)
                self._resign()
                return super().read(window, **kwargs)

    return ResigningReader


def _probe(href: str, sign: Signer | None) -> str | None:
    """Open ``href`` (header only) as stackstac would; None when it opens, else the redacted error."""
    for attempt in (1, 2):
        try:
            with GDAL_ENV.open, rasterio.open(href):
                return None
        except Exception as error:  # rasterio/GDAL errors have many types: report whatever it was
            if attempt == 1 and sign is not None and is_expired_token(error, href):
                log.warning(
                    "HTTP 403 from %s (expired token?): signing it afresh and retrying once", redact(href)
                )
                href = resign_href(href, sign)
                continue
            return redact(describe_error(error))[:300]
    return None  # pragma: no cover


def drop_unreadable(
    items: Sequence[pystac.Item],
    *,
    assets: Sequence[str],
    sign: Signer | None = None,
    max_failed_read_fraction: float = 0.0,
    threads: int = 4,
) -> tuple[list[pystac.Item], list[UnreadableScene]]:
    """Open every asset of every scene; skip unreadable scenes within the allowed fraction.

    Only file headers are read (one or two range requests per asset), through the same GDAL settings,
    signing and 403 re-signing as the pixel reads. A scene (item) is unreadable when any of ``assets``
    that it has cannot be opened. Pixel reads that fail later, after a successful open, still raise.

    Args:
        items: the scenes (not modified; copies are signed).
        assets: asset keys to check.
        sign: as for :func:`stack_assets`.
        max_failed_read_fraction: the largest fraction of ``items`` that may be unreadable and skipped
            (config `composite.max_failed_read_fraction`); 0 makes any unreadable scene an error.
        threads: concurrent header reads.

    Returns:
        The readable items (the originals, unsigned, in input order) and the skipped scenes.

    Raises:
        AssetReadError: more than ``max_failed_read_fraction`` of the scenes are unreadable.
        ValueError: ``max_failed_read_fraction`` is outside [0, 1).
    """
    if not 0.0 <= max_failed_read_fraction < 1.0:
        raise ValueError(f"max_failed_read_fraction must be in [0, 1), got {max_failed_read_fraction}")
    if not items:
        return [], []
    prepared, hrefs = prepare_items(items, sign)
    jobs = [
        (index, key, copy.assets[key].get_absolute_href() or copy.assets[key].href)
        for index, copy in enumerate(prepared)
        for key in assets
        if key in copy.assets
    ]
    with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
        errors = list(pool.map(lambda job: _probe(job[2], sign), jobs))
    failed: dict[int, UnreadableScene] = {}
    for (index, key, href), error in zip(jobs, errors, strict=True):
        if error is not None and index not in failed:
            unsigned = hrefs.get(href, ("", "", href.split("?", 1)[0]))[2]
            failed[index] = UnreadableScene(items[index].id, key, unsigned, error)
    return skip_within_allowance(items, failed, max_failed_read_fraction=max_failed_read_fraction)


def skip_within_allowance(
    items: Sequence[pystac.Item],
    failed: Mapping[int, UnreadableScene],
    *,
    max_failed_read_fraction: float,
    what: str = "unreadable",
) -> tuple[list[pystac.Item], list[UnreadableScene]]:
    """Drop the scenes at the positions ``failed`` names, if they are few enough; say which, and why.

    Returns:
        The kept items (in input order) and the skipped scenes.

    Raises:
        AssetReadError: more than ``max_failed_read_fraction`` of the scenes failed, listing them.
    """
    skipped = [failed[i] for i in sorted(failed)]
    if skipped:
        listed = "; ".join(map(str, skipped[:10])) + ("; ..." if len(skipped) > 10 else "")
        summary = f"{len(skipped)} of {len(items)} scenes {what}: {listed}"
        if len(skipped) > max_failed_read_fraction * len(items):
            raise AssetReadError(
                f"{summary}. That is more than `max_failed_read_fraction` ({max_failed_read_fraction:g}) "
                "allows: check the files, the signing step and the network, or raise the fraction to skip "
                "them"
            )
        log.warning(
            "%s; skipped (allowed by `max_failed_read_fraction` %g)", summary, max_failed_read_fraction
        )
    return [item for i, item in enumerate(items) if i not in failed], skipped


@dataclass
class AssetStack:
    """A lazy (time, band, y, x) float32 stack and what is needed to compute it safely."""

    data: xr.DataArray
    items: list[pystac.Item]
    signed_to_unsigned: dict[str, tuple[str, str, str]] = field(default_factory=dict)


def prepare_items(items: Sequence[pystac.Item], sign: Signer | None) -> tuple[list[pystac.Item], dict]:
    """Copies of ``items`` ready for stackstac, and a map signed href -> (item id, asset, unsigned href)."""
    prepared: list[pystac.Item] = []
    hrefs: dict[str, tuple[str, str, str]] = {}
    for item in items:
        copy = item.clone()
        code = copy.properties.get("proj:code")
        if (
            copy.properties.get("proj:epsg") is None
            and isinstance(code, str)
            and code.upper().startswith("EPSG:")
        ):
            copy.properties["proj:epsg"] = int(code.split(":", 1)[1])
        unsigned = {key: asset.get_absolute_href() or asset.href for key, asset in copy.assets.items()}
        if sign is not None:
            copy = sign(copy)
        for key, asset in copy.assets.items():
            if key in unsigned:
                hrefs[asset.get_absolute_href() or asset.href] = (item.id, key, unsigned[key])
        prepared.append(copy)
    return prepared, hrefs


def stack_assets(
    items: Sequence[pystac.Item],
    *,
    grid: GridSpec,
    assets: Sequence[str],
    resampling: ResamplingName = "nearest",
    sign: Signer | None = None,
    chunksize: int = 512,
) -> AssetStack:
    """Lazily stack ``assets`` of ``items`` onto ``grid`` (float32, NaN outside data and at file nodata).

    Args:
        items: STAC items (not modified; copies are signed).
        grid: the output grid.
        assets: asset keys, in output band order; items lacking one read as NaN for it.
        resampling: warp resampling from the files' grids to ``grid``.
        sign: applied to item copies right before reading (e.g. ``planetary_computer.sign``).
        chunksize: spatial chunk size of the dask array.

    Returns:
        An :class:`AssetStack` whose ``data`` has dims (time, band, y, x), y/x the grid's pixel centres,
        time sorted ascending.

    Raises:
        ValueError: if ``items`` is empty or stackstac's output does not line up with ``grid``.
    """
    if not items:
        raise ValueError("stack_assets needs at least one item")
    prepared, hrefs = prepare_items(items, sign)
    data = stackstac.stack(
        prepared,
        assets=list(assets),
        epsg=grid.epsg,
        resolution=grid.resolution,
        bounds=grid.bounds,
        snap_bounds=False,
        dtype=np.dtype("float32"),
        fill_value=_FILL,
        rescale=False,
        resampling=getattr(RioResampling, resampling),
        chunksize=chunksize,
        xy_coords="center",
        sortby_date=False,
        properties=False,
        band_coords=False,
        gdal_env=GDAL_ENV,
        errors_as_nodata=(),
        reader=_reader_type(sign),
    )
    data = _on_grid(data, grid)
    return AssetStack(data=data, items=prepared, signed_to_unsigned=hrefs)


def _on_grid(data: xr.DataArray, grid: GridSpec) -> xr.DataArray:
    height, width = grid.shape
    if data.shape[-2:] != (height, width):
        raise ValueError(f"stackstac returned (y, x) {data.shape[-2:]}, the grid is {grid.shape}")
    xs, ys = grid_coords(grid)
    tol = 1e-6 * grid.resolution
    if not (
        np.allclose(data.x.values, xs, rtol=0, atol=tol) and np.allclose(data.y.values, ys, rtol=0, atol=tol)
    ):
        raise ValueError(
            f"stackstac's x/y coordinates are off the grid {grid}: first centre "
            f"({data.x.values[0]}, {data.y.values[0]}), expected ({xs[0]}, {ys[0]})"
        )
    return data.assign_coords(x=xs, y=ys)


def grid_coords(grid: GridSpec) -> tuple[np.ndarray, np.ndarray]:
    """(x, y) pixel-centre coordinates of ``grid``; y descending."""
    height, width = grid.shape
    minx, _, _, maxy = grid.bounds
    xs = minx + (np.arange(width) + 0.5) * grid.resolution
    ys = maxy - (np.arange(height) + 0.5) * grid.resolution
    return xs, ys


@contextmanager
def _redacted_errors(signed_to_unsigned: Mapping[str, tuple[str, str, str]]) -> Iterator[None]:
    """Turn stackstac's open/read errors into :class:`AssetReadError` with unsigned hrefs only."""
    try:
        yield
    except Exception as exc:
        text = describe_error(exc)
        matches = [k for k in signed_to_unsigned if k in text or k.split("?", 1)[0] + "?" in text]
        if not matches and not text.startswith(("Error opening", "Error reading")):
            raise  # not a read error (a bug elsewhere): keep its type and traceback
        culprit = signed_to_unsigned[max(matches, key=len)] if matches else None
        for signed in sorted(signed_to_unsigned, key=len, reverse=True):
            text = text.replace(signed, signed_to_unsigned[signed][2])
        item_id, asset, unsigned = culprit or (None, None, None)
        raise read_error(item_id, asset, unsigned, text) from None


def describe_error(error: Any) -> str:
    """An error's message with the causes it chains to: rasterio's "Read failed. See previous exception
    for details." says nothing itself; GDAL's reason (e.g. "TIFFReadEncodedTile() failed") is its cause."""
    if not isinstance(error, BaseException):
        return " ".join(str(error).split())
    messages: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        text = " ".join(str(current).split())
        if text and "See previous exception" not in text and text not in messages:
            messages.append(text)
        current = current.__cause__ or current.__context__
    return ": ".join(messages) or type(error).__name__


def read_error(item_id: str | None, asset: str | None, unsigned: str | None, error: Any) -> AssetReadError:
    """The :class:`AssetReadError` for a failed open or read, naming its cause, free of any SAS token."""
    text = describe_error(error)
    text = redact(_URL_IN_MESSAGE.sub(lambda m: m.group(0).split("?", 1)[0], text))
    where = f"asset {asset!r} of item {item_id!r} ({unsigned})" if item_id is not None else "an asset"
    return AssetReadError(
        f"could not read {where}: {text}. Check that the file exists and is a valid GeoTIFF; "
        "for remote data, that the signing step and network work."
    )


def compute(arrays: Any, *, signed_to_unsigned: Mapping[str, tuple[str, str, str]], threads: int = 1) -> Any:
    """Compute dask ``arrays`` (one or a tuple) with ``threads`` threads.

    Raises:
        AssetReadError: for any asset stackstac could not open or read (hrefs redacted).
    """
    if threads < 1:
        raise ValueError(f"threads must be >= 1, got {threads}")
    scheduler = (
        {"scheduler": "synchronous"} if threads == 1 else {"scheduler": "threads", "num_workers": threads}
    )
    with _redacted_errors(signed_to_unsigned):
        return (
            dask.compute(*arrays, **scheduler)
            if isinstance(arrays, tuple)
            else dask.compute(arrays, **scheduler)[0]
        )
