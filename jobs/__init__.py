"""storytrail: jobs."""
