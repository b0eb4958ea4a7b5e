"""Synthetic thaw-slump scene for the `rts` task: several small sites, summers of Sentinel-2, a DEM,
and slump outlines dated per year (:func:`permafusion.demo.rts.generate.generate_rts_demo`)."""
