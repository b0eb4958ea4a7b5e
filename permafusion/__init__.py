"""permafusion: permafrost degradation maps from Sentinel-1 and Sentinel-2 time series."""

__version__ = "0.1.0"
