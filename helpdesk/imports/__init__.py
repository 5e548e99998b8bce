"""Import runs: the ImportRun lifecycle, upload → run → enqueue, the sweeper, /api/import-runs/."""
