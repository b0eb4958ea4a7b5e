"""Scientific settings of the compositing stage, as small validated frozen dataclasses.

Snakemake passes them as plain dicts (``params:``); :meth:`SarSettings.from_mapping` and
:meth:`OpticalSettings.from_mapping` turn those into checked objects and reject unknown keys, so a typo
in ``config/`` fails loudly instead of silently falling back to a default.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any, Literal, TypeVar

SAR_POLARIZATIONS: tuple[str, ...] = ("vv", "vh")
#: Values of Sentinel-1 ``sat:orbit_state``: the two viewing geometries.
ORBIT_STATES: tuple[str, ...] = ("ascending", "descending")
OPTICAL_BANDS: tuple[str, ...] = ("B02", "B03", "B04", "B08", "B11", "B12")
#: Native 20 m bands of Sentinel-2 L2A among those we use (resampled onto the 10 m grid).
S2_20M_BANDS: frozenset[str] = frozenset({"B05", "B06", "B07", "B8A", "B11", "B12", "SCL"})
#: SCL classes: 0 no data, 1 saturated/defective, 2 dark area, 3 cloud shadow, 4 vegetation,
#: 5 not vegetated, 6 water, 7 unclassified, 8 cloud medium prob., 9 cloud high prob., 10 thin cirrus,
#: 11 snow/ice.
DEFAULT_MASK_CLASSES: tuple[int, ...] = (0, 1, 3, 8, 9, 10, 11)

Resampling = Literal["nearest", "bilinear"]

_T = TypeVar("_T")


def _from_mapping(cls: type[_T], data: Mapping[str, Any], *, what: str) -> _T:
    names = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(data) - names)
    if unknown:
        raise ValueError(f"unknown {what} setting(s) {unknown}; allowed: {sorted(names)}")
    kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
    return cls(**kwargs)


@dataclass(frozen=True)
class SarSettings:
    """How Sentinel-1 RTC acquisitions become a monthly backscatter composite.

    Args:
        speckle_filter: ``"lee"`` applies the classic Lee filter to the monthly linear-power mean,
            ``"none"`` skips it.
        window: side of the square Lee window in pixels (odd, >= 3).
        enl: equivalent number of looks of ONE acquisition (Planetary Computer RTC items state
            ``sar:looks_equivalent_number`` 4.4 for IW GRDH). The noise variation coefficient used by the
            filter at a pixel is ``1 / sqrt(enl * n)`` with ``n`` its number of averaged acquisitions.
        polarizations: asset keys to composite, in output band order.
        chunksize: pixels per side of the spatial blocks read and reduced at once (bounds memory).
        separate_orbits: also composite the ascending and the descending passes each on their own
            (they look at slopes from opposite sides); the all-pass composite is kept for the model.
    """

    speckle_filter: Literal["lee", "none"] = "lee"
    window: int = 5
    enl: float = 4.4
    polarizations: tuple[str, ...] = SAR_POLARIZATIONS
    chunksize: int = 512
    separate_orbits: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "polarizations", tuple(self.polarizations))
        if self.speckle_filter not in ("lee", "none"):
            raise ValueError(f"sar speckle_filter must be 'lee' or 'none', got {self.speckle_filter!r}")
        if not isinstance(self.window, int) or self.window < 3 or self.window % 2 == 0:
            raise ValueError(f"sar window must be an odd integer >= 3, got {self.window!r}")
        if not self.enl > 0:
            raise ValueError(f"sar enl (equivalent number of looks) must be positive, got {self.enl!r}")
        _check_names(self.polarizations, "sar polarizations")
        _check_chunksize(self.chunksize)
        if not isinstance(self.separate_orbits, bool):
            raise ValueError(f"sar separate_orbits must be true or false, got {self.separate_orbits!r}")

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> SarSettings:
        """Build from a plain dict (e.g. Snakemake ``params``); unknown keys raise ``ValueError``."""
        return _from_mapping(cls, data, what="sar")


@dataclass(frozen=True)
class OpticalSettings:
    """How Sentinel-2 L2A scenes become a monthly median reflectance composite.

    Args:
        bands: asset keys to composite, in output band order.
        mask_classes: SCL classes treated as invalid. The default masks no data, saturated, cloud
            shadow, cloud medium/high, thin cirrus and snow/ice; drop ``11`` to keep snow (e.g. to map
            snow cover duration).
        resampling_20m: how native 20 m bands (B11, B12, ...) reach the 10 m grid. ``"nearest"``
            (default) copies each 20 m value into its four 10 m pixels, so a pixel's value comes from
            exactly the 20 m cell whose SCL class decided its mask; ``"bilinear"`` is smoother but blends
            values across mask edges. SCL itself is always resampled with nearest.
        scl_asset: asset key of the scene classification layer.
        chunksize: pixels per side of the spatial blocks read and reduced at once (bounds memory).
    """

    bands: tuple[str, ...] = OPTICAL_BANDS
    mask_classes: tuple[int, ...] = DEFAULT_MASK_CLASSES
    resampling_20m: Resampling = "nearest"
    scl_asset: str = "SCL"
    chunksize: int = 512

    def __post_init__(self) -> None:
        object.__setattr__(self, "bands", tuple(self.bands))
        object.__setattr__(self, "mask_classes", tuple(sorted(set(self.mask_classes))))
        _check_names(self.bands, "optical bands")
        if self.scl_asset in self.bands:
            raise ValueError(f"optical bands must not contain the SCL asset {self.scl_asset!r}")
        for value in self.mask_classes:
            if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 11:
                raise ValueError(f"optical mask_classes must be SCL classes 0..11, got {value!r}")
        if self.resampling_20m not in ("nearest", "bilinear"):
            raise ValueError(
                f"optical resampling_20m must be 'nearest' or 'bilinear', got {self.resampling_20m!r}"
            )
        _check_chunksize(self.chunksize)

    @property
    def mask_snow(self) -> bool:
        return 11 in self.mask_classes

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> OpticalSettings:
        """Build from a plain dict (e.g. Snakemake ``params``); unknown keys raise ``ValueError``."""
        return _from_mapping(cls, data, what="optical")


def _check_names(names: tuple[str, ...], what: str) -> None:
    if not names:
        raise ValueError(f"{what} must not be empty")
    if len(set(names)) != len(names):
        raise ValueError(f"{what} contain duplicates: {list(names)}")
    for name in names:
        if not isinstance(name, str) or not name:
            raise ValueError(f"{what} must be non-empty strings, got {name!r}")


def _check_chunksize(chunksize: int) -> None:
    if not isinstance(chunksize, int) or chunksize < 16:
        raise ValueError(f"chunksize must be an integer >= 16, got {chunksize!r}")
