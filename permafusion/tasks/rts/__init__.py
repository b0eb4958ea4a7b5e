"""The thaw-slump task (seed 001): retrogressive thaw slumps from Sentinel-2 and DEM slope with a U-Net,
their yearly count and area, and a CO2 estimate."""
