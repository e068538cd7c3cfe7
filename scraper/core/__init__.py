"""storytrail: scraper/core."""
