"""storytrail: scraper/sources."""
