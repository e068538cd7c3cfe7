"""storytrail: api."""
