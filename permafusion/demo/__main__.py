"""``python -m permafusion.demo --grid grid.json --start 2023-01-01 --end 2023-12-31 --out DIR``."""

from permafusion.demo.generate import main

main()
