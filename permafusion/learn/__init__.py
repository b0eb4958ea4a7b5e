"""The learning engine: one training loop for every task, its state and runtime, splits, metrics, losses."""
