"""Monthly time series assembled from composite stores: opening, selecting time steps, gap filling."""
