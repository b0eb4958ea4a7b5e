"""Tasks on the engine, one folder each. The engine (core, geo, composite, series, learn, products)
never imports from here."""
