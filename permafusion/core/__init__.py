"""Engine basics every stage uses: atomic file writing, logging, class schemes, devices and precision."""
