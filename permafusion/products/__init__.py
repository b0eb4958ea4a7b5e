"""Products users open: class-map COGs with legends, mosaics, area tables, quicklook figures."""
