"""Geography and catalogs: AOIs, processing grids and tiles, STAC search and signing, terrain, labels."""
