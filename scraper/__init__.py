"""storytrail: scraper."""
