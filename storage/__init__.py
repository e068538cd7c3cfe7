"""storytrail: storage."""
