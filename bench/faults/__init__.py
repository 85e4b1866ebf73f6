"""The crash-safety run: `python -m bench.faults` (see its __main__ for what it does)."""
